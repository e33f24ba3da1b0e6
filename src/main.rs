//! The `flowmatching` command-line program: a thin layer over the library.
//!
//! Flags are parsed by clap, validated into library settings, and every error is reported once
//! on stderr with its context. Exit codes: 0 success, 1 error, 2 usage error (a flag clap
//! cannot parse, or a flag value that parses but cannot be used). A closed pipe on stdout
//! (`flowmatching sample | head`) ends the program quietly with 0.

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

fn main() -> ExitCode {
    let matches = cli::args::Cli::command().get_matches();
    let mut args = cli::args::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli::recipe::apply(&mut args, &matches);
    cli::init_logging(args.debug);

    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(if cli::is_usage_error(&e) { 2 } else { 1 })
        }
    }
}
