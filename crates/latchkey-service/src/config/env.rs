//! The typed helper every setting is declared with, on top of clap's `env` attributes: one declaration
//! (`#[arg(long, env = "NAME", default_value = …, value_parser = env::int(1..=10))]`) parses the
//! variable (or the `--flag`), shows it in `--help`, and words a bad value for the operator.
//!
//! What it adds to clap: values are trimmed, and a blank variable counts as unset (`.env.example` has
//! `TRUSTED_PROXIES=`); a bad value is a [`ConfigError`] naming the variable; and [`from_lookup`] builds
//! any group of settings from a lookup function instead of the process environment (tests).

use std::ffi::OsStr;
use std::ops::RangeInclusive;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Args, Command, FromArgMatches, Parser};

use super::ConfigError;

/// How a [`Rule`] reads a value: the variable's name, the (trimmed) text, and for numbers the range.
#[derive(Debug, Clone)]
enum Read<T> {
    Plain(fn(&str, &str) -> Result<T, ConfigError>),
    Ranged(fn(&str, &str, &RangeInclusive<i64>) -> Result<T, ConfigError>, RangeInclusive<i64>),
}

/// A clap value parser that reads one setting; made by [`rule`], [`int`], [`mib`], [`boolean`], [`text`],
/// [`secret`] and [`password`].
#[derive(Debug, Clone)]
pub struct Rule<T> {
    read: Read<T>,
    /// Trimmed first (every setting but a password).
    trim: bool,
}

/// A setting read by `read(name, value)`.
pub fn rule<T>(read: fn(&str, &str) -> Result<T, ConfigError>) -> Rule<T> {
    Rule { read: Read::Plain(read), trim: true }
}

/// A whole number within `range`.
pub fn int<T: TryFrom<i64>>(range: RangeInclusive<i64>) -> Rule<T> {
    Rule { read: Read::Ranged(whole_number, range), trim: true }
}

/// A number of MiB within `range`, as bytes.
pub fn mib(range: RangeInclusive<i64>) -> Rule<usize> {
    Rule {
        read: Read::Ranged(|name, v, range| Ok(whole_number::<usize>(name, v, range)? * 1024 * 1024), range),
        trim: true,
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case).
pub fn boolean() -> Rule<bool> {
    rule(|name, v| match v.to_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError(format!("{name} must be true or false, got '{v}'"))),
    })
}

/// Any text (trimmed).
pub fn text() -> Rule<String> {
    rule(|_, v| Ok(v.to_owned()))
}

/// A key or a URL that may hold a password, in a [`Secret`](super::Secret).
pub fn secret() -> Rule<super::Secret> {
    rule(|_, v| Ok(super::Secret::new(v)))
}

/// A password, kept as given (not trimmed) in a [`Secret`](super::Secret).
pub fn password() -> Rule<super::Secret> {
    Rule { read: Read::Plain(|_, v| Ok(super::Secret::new(v))), trim: false }
}

fn whole_number<T: TryFrom<i64>>(name: &str, raw: &str, range: &RangeInclusive<i64>) -> Result<T, ConfigError> {
    raw.parse::<i64>().ok().filter(|v| range.contains(v)).and_then(|v| T::try_from(v).ok()).ok_or_else(|| {
        ConfigError(format!("{name} must be a whole number from {} to {}, got '{raw}'", range.start(), range.end()))
    })
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Rule<T> {
    type Value = T;

    fn parse_ref(&self, _cmd: &Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let name = arg.map_or_else(|| "a setting".to_owned(), variable);
        let Some(text) = value.to_str() else {
            return Err(invalid(ConfigError(format!("{name} is not valid UTF-8"))));
        };
        let text = if self.trim { text.trim() } else { text };
        match &self.read {
            Read::Plain(read) => read(&name, text),
            Read::Ranged(read, range) => read(&name, text, range),
        }
        .map_err(invalid)
    }
}

/// The variable an argument is read from: its `env`, or the value name [`named`] gave it (which
/// [`from_lookup`] keeps when it drops the `env`); the id in capitals for an argument without either.
fn variable(arg: &Arg) -> String {
    match (arg.get_env(), arg.get_value_names()) {
        (Some(env), _) => env.to_string_lossy().into_owned(),
        (None, Some([name, ..])) => name.to_string(),
        (None, _) => arg.get_id().as_str().to_uppercase(),
    }
}

/// An argument read from a variable shows the variable as its value (`--port <PORT>`).
fn named(arg: Arg) -> Arg {
    match arg.get_env().map(|env| env.to_string_lossy().into_owned()) {
        Some(name) => arg.value_name(name),
        None => arg,
    }
}

/// A bad value as clap's error: printed by clap as `error: <message>`, recovered by [`config_error`].
fn invalid(e: ConfigError) -> clap::Error {
    let mut error = clap::Error::raw(ErrorKind::ValueValidation, format!("{}\n", e.0));
    error.insert(ContextKind::Custom, ContextValue::String(e.0));
    error
}

/// The configuration error behind a parse failure (a bad value), if that is what it was; other failures
/// (`--help`, an unknown flag) are clap's to print.
pub fn config_error(error: &clap::Error) -> Option<ConfigError> {
    match error.get(ContextKind::Custom) {
        Some(ContextValue::String(message)) => Some(ConfigError(message.clone())),
        _ => None,
    }
}

/// Reads `.env` (if present) into the environment; variables already set win. A missing file is normal,
/// a malformed one an error.
pub fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(e) if e.not_found() => Ok(()),
        Err(e) => Err(ConfigError(format!(".env could not be read: {e}"))),
    }
}

/// Parses the process's arguments and environment into `P` (load `.env` first): a blank variable counts
/// as unset, like a missing one.
pub fn parse_process<P: Parser>() -> Result<P, clap::Error> {
    parse_process_from(std::env::args_os())
}

/// [`parse_process`] with these arguments (the first is the program's name).
pub fn parse_process_from<P: Parser>(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<P, clap::Error> {
    let blank = |name: &OsStr| std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty());
    let mut command = unset_blank(P::command(), &blank);
    let matches = command.try_get_matches_from_mut(args)?;
    P::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// Names every argument's value after its variable, and drops the variable of every argument (of the
/// command and its subcommands) whose value is blank, so that its default applies.
fn unset_blank(command: Command, blank: &dyn Fn(&OsStr) -> bool) -> Command {
    command
        .mut_args(|arg| match arg.get_env() {
            Some(name) if blank(name) => named(arg).env(None),
            _ => named(arg),
        })
        .mut_subcommands(|sub| unset_blank(sub, blank))
}

/// Builds a group of settings from `lookup` (variable name to value) instead of the process environment,
/// through the same declarations: each variable found (and not blank) is passed as its `--flag`.
pub fn from_lookup<A: Args + FromArgMatches>(lookup: impl Fn(&str) -> Option<String>) -> Result<A, ConfigError> {
    let mut args = vec!["latchkey".to_owned()];
    let command = A::augment_args(Command::new("latchkey")).mut_args(|arg| {
        let arg = named(arg);
        let Some(name) = arg.get_env().map(|e| e.to_string_lossy().into_owned()) else { return arg };
        if let (Some(value), Some(long)) = (lookup(&name), arg.get_long())
            && !value.trim().is_empty()
        {
            args.push(format!("--{long}={value}"));
        }
        // Not the process's variable (its name stays as the value's, for the error messages).
        arg.env(None)
    });
    let matches = command
        .try_get_matches_from(args)
        .map_err(|e| config_error(&e).unwrap_or_else(|| ConfigError(e.to_string())))?;
    A::from_arg_matches(&matches).map_err(|e| ConfigError(e.to_string()))
}
