//! Usage errors: a flag whose value parses but cannot be used is reported like clap's own
//! usage errors, naming the flag and the value once, and the program exits with 2.

/// A flag whose value was parsed but cannot be used: reported like clap's own usage errors,
/// with exit code 2.
#[derive(Debug)]
pub struct BadFlag(String);

impl std::fmt::Display for BadFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadFlag {}

/// A usage error with this message, which names the flag and says what is wrong.
pub fn bad_flag(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadFlag(message.into()))
}

/// The error from checking `given`, the value of `flag`, as a usage error that names the flag
/// and the value once: `invalid --flag = given: reason`, with the part of `given` at fault
/// before the reason where the library's check names only a part of it.
pub fn flag_error(
    flag: &str,
    given: impl std::fmt::Display,
    error: impl Into<anyhow::Error>,
) -> anyhow::Error {
    let error = error.into();
    let given = given.to_string();
    match error.downcast_ref::<flowmatching::Error>() {
        Some(flowmatching::Error::InvalidSetting { value, reason, .. }) => {
            if value.trim_matches('`') == given {
                bad_flag(format!("invalid {flag} = {given}: {reason}"))
            } else {
                bad_flag(format!("invalid {flag} = {given}: {value}: {reason}"))
            }
        }
        _ => bad_flag(format!("invalid {flag} = {given}: {error:#}")),
    }
}

/// A library setting error renamed after its flag (`rtol` -> `--rtol`, `max_steps` ->
/// `--max-steps`), as a usage error; other errors pass through.
pub fn setting_as_flag(e: flowmatching::Error) -> anyhow::Error {
    match &e {
        flowmatching::Error::InvalidSetting { name, value, .. } => {
            let value = value.clone();
            flag_error(&format!("--{}", name.replace('_', "-")), value, e)
        }
        _ => e.into(),
    }
}

/// Whether an error is a usage error (exit code 2): a flag's value that cannot be used, from
/// our checks or from the library's checks of a setting named by its flag.
pub fn is_usage_error(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.is::<BadFlag>()
            || matches!(
                cause.downcast_ref::<flowmatching::Error>(),
                Some(flowmatching::Error::InvalidSetting { name, .. }) if name.starts_with("--")
            )
    })
}

/// Checks a count flag against its smallest useful value.
pub fn at_least(flag: &str, value: usize, min: usize) -> anyhow::Result<()> {
    if value < min {
        return Err(bad_flag(format!("invalid {flag} = {value}: must be at least {min}")));
    }
    Ok(())
}
