//! Path names: a path and a coupling from one short string, for the command line and reports.
//!
//! Grammar (no spaces inside a spec; spaces around list items are trimmed):
//!
//! ```text
//! list      := spec ("," spec)*
//! spec      := family (":" arg)* ["+" coupling]
//! coupling  := "ot" | "independent" | "indep"
//!
//! linear     [sigma_min=F]             Linear, independent coupling
//! ot         [sigma_min=F]             Linear, optimal transport coupling
//! quadratic                            Polynomial of degree 2
//! poly       N | n=N                   Polynomial of degree N >= 1 (required)
//! cosine                               Cosine
//! vp         [BMIN:BMAX]               VariancePreserving, defaults 0.1 and 20;
//!            [beta_min=F] [beta_max=F]   or by name
//! stochastic [s=F] [eps=F]             StochasticInterpolant, independent coupling
//! sb         [s=F] [eps=F]             StochasticInterpolant, optimal transport coupling
//! ```
//!
//! F is a decimal number as Rust parses it (`0.01`, `1e-3`), N a whole number; a repeated key
//! overrides the earlier one. A `+ot` or `+independent` suffix sets the coupling of any family
//! (`cosine+ot`, `sb+independent`), so every combination has a name. Examples: `linear`,
//! `linear:sigma_min=0.01`, `poly:3`, `vp:0.1:20`, `stochastic:s=0.5:eps=1e-3`, `quadratic+ot`.
//!
//! [`PathSpec`]'s `Display` writes the shortest canonical name (defaults omitted, `ot` and `sb`
//! for the optimal-transport linear and stochastic paths), and parsing it gives the same spec
//! back. A parse error names the offending token and the whole spec.

use std::fmt;
use std::str::FromStr;

use super::{
    Coupling, Linear, Path, Polynomial, Schedule, StochasticInterpolant, VariancePreserving,
};
use crate::{Error, Result};

/// A probability path together with the coupling of x_0 with x_1 used to train on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathSpec {
    /// The path that gives x_t and u_t.
    pub path: Path,
    /// How x_0 rows are paired with x_1 rows before the path is applied.
    pub coupling: Coupling,
}

impl PathSpec {
    /// The spec of `path` with `coupling`.
    pub fn new(path: impl Into<Path>, coupling: Coupling) -> Self {
        PathSpec { path: path.into(), coupling }
    }

    /// Parses one spec (grammar in the module docs).
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let (body, coupling) = split_coupling(spec)?;
        let mut tokens = body.split(':');
        let family = tokens.next().unwrap_or("");
        let args: Vec<&str> = tokens.collect();

        let (path, default_coupling) = match family {
            "linear" => (Path::from(linear(spec, &args)?), Coupling::Independent),
            "ot" => (Path::from(linear(spec, &args)?), Coupling::ExactOt),
            "quadratic" => {
                no_args(spec, &args)?;
                (Path::from(Polynomial::quadratic()), Coupling::Independent)
            }
            "poly" => (Path::from(polynomial(spec, &args)?), Coupling::Independent),
            "cosine" => {
                no_args(spec, &args)?;
                (Path::from(super::Cosine), Coupling::Independent)
            }
            "vp" => (Path::from(variance_preserving(spec, &args)?), Coupling::Independent),
            "stochastic" => (Path::from(stochastic(spec, &args)?), Coupling::Independent),
            "sb" => (Path::from(stochastic(spec, &args)?), Coupling::ExactOt),
            _ => {
                return Err(bad(
                    spec,
                    family,
                    "unknown path (expected linear, ot, quadratic, poly:N, cosine, vp, \
                     stochastic or sb)",
                ))
            }
        };
        Ok(PathSpec { path, coupling: coupling.unwrap_or(default_coupling) })
    }
}

/// Parses a comma-separated list of specs, e.g. `linear,quadratic,cosine,vp,ot,sb`.
pub fn parse_path_list(list: &str) -> Result<Vec<PathSpec>> {
    list.split(',').map(PathSpec::parse).collect()
}

impl FromStr for PathSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        PathSpec::parse(spec)
    }
}

impl fmt::Display for PathSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ot = self.coupling == Coupling::ExactOt;
        let mut suffix_ot = ot;
        match self.path {
            Path::Affine(affine) => match affine.scheduler {
                Schedule::Linear(linear) => {
                    f.write_str(if ot { "ot" } else { "linear" })?;
                    suffix_ot = false;
                    if linear.sigma_min != 0.0 {
                        write!(f, ":sigma_min={}", linear.sigma_min)?;
                    }
                }
                Schedule::Polynomial(Polynomial { n: 2 }) => f.write_str("quadratic")?,
                Schedule::Polynomial(poly) => write!(f, "poly:{}", poly.n)?,
                Schedule::Cosine(_) => f.write_str("cosine")?,
                Schedule::VariancePreserving(vp) => {
                    f.write_str("vp")?;
                    if vp != VariancePreserving::default() {
                        write!(f, ":{}:{}", vp.beta_min, vp.beta_max)?;
                    }
                }
            },
            Path::Stochastic(path) => {
                f.write_str(if ot { "sb" } else { "stochastic" })?;
                suffix_ot = false;
                if path.s != StochasticInterpolant::DEFAULT_S {
                    write!(f, ":s={}", path.s)?;
                }
                if path.t_eps != StochasticInterpolant::DEFAULT_T_EPS {
                    write!(f, ":eps={}", path.t_eps)?;
                }
            }
        }
        if suffix_ot {
            f.write_str("+ot")?;
        }
        Ok(())
    }
}

/// Splits a trailing `+coupling` off `spec`. A `+` followed by a digit belongs to a number
/// (`1e+3`), not to a coupling.
fn split_coupling(spec: &str) -> Result<(&str, Option<Coupling>)> {
    let Some((body, word)) = spec.rsplit_once('+') else {
        return Ok((spec, None));
    };
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((spec, None));
    }
    let coupling = match word {
        "ot" => Coupling::ExactOt,
        "independent" | "indep" => Coupling::Independent,
        _ => return Err(bad(spec, word, "unknown coupling (expected ot or independent)")),
    };
    Ok((body, Some(coupling)))
}

/// The error for `token` in `spec`.
fn bad(spec: &str, token: &str, reason: &str) -> Error {
    Error::setting(format!("path spec `{spec}`"), format!("`{token}`"), reason)
}

fn no_args(spec: &str, args: &[&str]) -> Result<()> {
    match args.first() {
        Some(arg) => Err(bad(spec, arg, "this path takes no arguments")),
        None => Ok(()),
    }
}

/// Splits `key=value`; a token without `=` is positional (key `None`).
fn key_value(arg: &str) -> (Option<&str>, &str) {
    match arg.split_once('=') {
        Some((key, value)) => (Some(key), value),
        None => (None, arg),
    }
}

fn number(spec: &str, token: &str, value: &str) -> Result<f64> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(bad(spec, token, "not a finite number")),
    }
}

/// Reports a constructor's rejection of a setting against the token of `args` that gave it: the
/// `name=value` token, or the positional token at the index of `name` in `positional`.
fn checked<T>(spec: &str, args: &[&str], positional: &[&str], built: Result<T>) -> Result<T> {
    built.map_err(|e| match e {
        Error::InvalidSetting { name, value, reason } => {
            let gave = |(i, arg): &(usize, &&str)| match key_value(arg) {
                (Some(key), _) => key == name,
                (None, _) => positional.get(*i) == Some(&name.as_str()),
            };
            let token = match args.iter().enumerate().find(gave) {
                Some((_, arg)) => arg.to_string(),
                None => format!("{name}={value}"),
            };
            bad(spec, &token, &format!("{name} {reason}"))
        }
        other => other,
    })
}

fn linear(spec: &str, args: &[&str]) -> Result<Linear> {
    let mut sigma_min = 0.0;
    for &arg in args {
        match key_value(arg) {
            (Some("sigma_min"), value) => sigma_min = number(spec, arg, value)?,
            _ => return Err(bad(spec, arg, "expected sigma_min=F")),
        }
    }
    checked(spec, args, &[], Linear::with_sigma_min(sigma_min))
}

fn polynomial(spec: &str, args: &[&str]) -> Result<Polynomial> {
    let [arg] = args else {
        let token = args.get(1).copied().unwrap_or(spec);
        return Err(bad(spec, token, "poly takes exactly one degree, as poly:N"));
    };
    let (key, value) = key_value(arg);
    if !matches!(key, None | Some("n")) {
        return Err(bad(spec, arg, "expected the degree N or n=N"));
    }
    let n = value.parse::<u32>().map_err(|_| bad(spec, arg, "the degree is not a whole number"))?;
    checked(spec, args, &["n"], Polynomial::new(n))
}

fn variance_preserving(spec: &str, args: &[&str]) -> Result<VariancePreserving> {
    let mut vp = VariancePreserving::default();
    for (i, &arg) in args.iter().enumerate() {
        match key_value(arg) {
            (None, value) if i == 0 && args.len() == 2 => vp.beta_min = number(spec, arg, value)?,
            (None, value) if i == 1 && args.len() == 2 => vp.beta_max = number(spec, arg, value)?,
            (Some("beta_min"), value) => vp.beta_min = number(spec, arg, value)?,
            (Some("beta_max"), value) => vp.beta_max = number(spec, arg, value)?,
            _ => return Err(bad(spec, arg, "expected vp:BMIN:BMAX or beta_min=F, beta_max=F")),
        }
    }
    checked(
        spec,
        args,
        &["beta_min", "beta_max"],
        VariancePreserving::new(vp.beta_min, vp.beta_max),
    )
}

fn stochastic(spec: &str, args: &[&str]) -> Result<StochasticInterpolant> {
    let mut path = StochasticInterpolant::default();
    for &arg in args {
        match key_value(arg) {
            (Some("s"), value) => path.s = number(spec, arg, value)?,
            (Some("eps"), value) => path.t_eps = number(spec, arg, value)?,
            _ => return Err(bad(spec, arg, "expected s=F or eps=F")),
        }
    }
    checked(spec, args, &[], StochasticInterpolant::new(path.s, path.t_eps))
}
