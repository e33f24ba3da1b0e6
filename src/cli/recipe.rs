//! Training defaults that depend on the data.
//!
//! The flags' defaults are the reference notebook's 1D recipe (2500 steps of a 33-64-64-1
//! network at a constant learning rate). That network is too small and that run too short for
//! the sharp edges of the 2D toys: on the checkerboard it puts about 64 % of its samples on the
//! valid cells. So `demo` and `train` on a built-in 2D dataset (`--dataset checkerboard`,
//! `moons`, ...) start from a 2D recipe instead, measured to put about 95 % of the
//! checkerboard's samples on valid cells; every flag given on the command line still wins.

use clap::parser::ValueSource;
use clap::ArgMatches;

use super::args::{Cli, Command, DataArgs, DatasetName, LrScheduleName, NetArgs, OptimArgs};

/// Width, depth, steps and schedule of one recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipe {
    /// `--hidden`.
    pub hidden: usize,
    /// `--depth`.
    pub depth: usize,
    /// `--train-steps`.
    pub train_steps: usize,
    /// `--lr-schedule`.
    pub lr_schedule: LrScheduleName,
}

/// The recipe of the built-in 2D datasets: four hidden layers of 128, 40 000 steps of batch
/// 1024 with the learning rate decayed along a cosine.
pub const TOY_2D: Recipe =
    Recipe { hidden: 128, depth: 4, train_steps: 40_000, lr_schedule: LrScheduleName::Cosine };

/// Puts the 2D recipe into the flags of `demo` and `train` on a built-in 2D dataset wherever the
/// user left a flag at its default.
pub fn apply(cli: &mut Cli, matches: &ArgMatches) {
    let (args, name) = match &mut cli.command {
        Command::Demo(a) => ((a.dataset, &a.data, &mut a.net, &mut a.optim), "demo"),
        Command::Train(a) => ((a.dataset, &a.data, &mut a.net, &mut a.optim), "train"),
        _ => return,
    };
    let Some(matches) = matches.subcommand_matches(name) else { return };
    let (dataset, data, net, optim) = args;
    if is_builtin_2d(dataset, data) {
        fill_defaults(TOY_2D, matches, net, optim);
    }
}

/// Whether the run learns one of the built-in 2D toys (not the mixture, a file or a spec).
fn is_builtin_2d(dataset: DatasetName, data: &DataArgs) -> bool {
    dataset != DatasetName::Mixture && data.data.is_none() && data.mixture_spec.is_none()
}

fn fill_defaults(recipe: Recipe, matches: &ArgMatches, net: &mut NetArgs, optim: &mut OptimArgs) {
    let defaulted = |id: &str| matches.value_source(id) == Some(ValueSource::DefaultValue);
    if defaulted("hidden") {
        net.hidden = recipe.hidden;
    }
    if defaulted("depth") {
        net.depth = recipe.depth;
    }
    if defaulted("train_steps") {
        optim.train_steps = recipe.train_steps;
    }
    if defaulted("lr_schedule") {
        optim.lr_schedule = recipe.lr_schedule;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, FromArgMatches as _};

    fn parse(line: &[&str]) -> Cli {
        let matches = Cli::command().try_get_matches_from(line).unwrap();
        let mut cli = Cli::from_arg_matches(&matches).unwrap();
        apply(&mut cli, &matches);
        cli
    }

    fn net_and_optim(cli: &Cli) -> (&NetArgs, &OptimArgs) {
        match &cli.command {
            Command::Demo(a) => (&a.net, &a.optim),
            Command::Train(a) => (&a.net, &a.optim),
            other => panic!("unexpected command {other:?}"),
        }
    }

    #[test]
    fn builtin_2d_datasets_get_the_2d_recipe_and_the_mixture_keeps_the_notebook() {
        for line in [
            &["fm", "demo", "--dataset", "checkerboard"][..],
            &["fm", "train", "--dataset", "moons"],
        ] {
            let cli = parse(line);
            let (net, optim) = net_and_optim(&cli);
            assert_eq!((net.hidden, net.depth, optim.train_steps), (128, 4, 40_000), "{line:?}");
            assert_eq!(optim.lr_schedule, LrScheduleName::Cosine);
        }
        let cli = parse(&["fm", "demo"]);
        let (net, optim) = net_and_optim(&cli);
        assert_eq!((net.hidden, net.depth, optim.train_steps), (64, 2, 2500));
        assert_eq!(optim.lr_schedule, LrScheduleName::Constant);
    }

    #[test]
    fn flags_on_the_command_line_win_even_when_they_equal_the_notebook_defaults() {
        let cli = parse(&[
            "fm",
            "demo",
            "--dataset",
            "checkerboard",
            "--hidden",
            "64",
            "--train-steps",
            "2500",
        ]);
        let (net, optim) = net_and_optim(&cli);
        assert_eq!((net.hidden, net.depth, optim.train_steps), (64, 4, 2500));
    }

    #[test]
    fn files_and_mixture_specs_keep_the_notebook_defaults() {
        for line in
            [&["fm", "train", "--data", "x.csv"][..], &["fm", "demo", "--mixture-spec", "m.json"]]
        {
            let cli = parse(line);
            let (net, optim) = net_and_optim(&cli);
            assert_eq!((net.hidden, net.depth, optim.train_steps), (64, 2, 2500), "{line:?}");
        }
    }
}
