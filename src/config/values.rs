//! How a setting's text becomes its value. Every setting that can be refused is read by a
//! `Setting` parser, so that all of them write a duration or a number the same way, and so
//! that a refusal names the setting as it was given (the environment variable, beside its flag,
//! when the value came from there) and never quotes a secret.

use crate::chaos::plan;
use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use std::ffi::OsStr;
use std::fmt::Display;
use std::ops::{Bound, RangeBounds};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

type Read<T> = Arc<dyn Fn(&str) -> Result<T, String> + Send + Sync>;

/// A setting's value parser (`value_parser = …` on a flag): `read` turns the text into the
/// value or says what is wrong with it.
#[derive(Clone)]
pub struct Setting<T> {
    read: Read<T>,
    /// Whether a refusal must not quote the value.
    secret: bool,
}

impl<T> Setting<T> {
    pub fn new(read: impl Fn(&str) -> Result<T, String> + Send + Sync + 'static) -> Self {
        Self { read: Arc::new(read), secret: false }
    }

    /// A setting that holds a secret: a refusal names the setting and the problem but never
    /// quotes the value, as clap's own refusals do (`invalid value 'hunter2'…`).
    pub fn secret(read: impl Fn(&str) -> Result<T, String> + Send + Sync + 'static) -> Self {
        Self { read: Arc::new(read), secret: true }
    }
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Setting<T> {
    type Value = T;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        self.parse_ref_(command, arg, value, ValueSource::CommandLine)
    }

    fn parse_ref_(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
        source: ValueSource,
    ) -> Result<T, clap::Error> {
        let refuse = |problem: &str| {
            let quoted = match value.to_str() {
                Some(raw) if !self.secret => format!(" '{raw}'"),
                _ => String::new(),
            };
            let message = format!("invalid value{quoted} for {}: {problem}", given_as(arg, source));
            command.clone().error(ErrorKind::ValueValidation, message)
        };
        let raw = value.to_str().ok_or_else(|| refuse("not valid UTF-8"))?;
        (self.read)(raw).map_err(|problem| refuse(&problem))
    }
}

/// The setting as the value was given: `SNACKDRAWER_TOKEN_TTL (--token-ttl)` from the
/// environment, `--token-ttl` from the command line.
fn given_as(arg: Option<&clap::Arg>, source: ValueSource) -> String {
    let Some(arg) = arg else { return "a setting".to_owned() };
    let flag = arg.get_long().map_or_else(|| arg.get_id().to_string(), |long| format!("--{long}"));
    match (source, arg.get_env()) {
        (ValueSource::EnvVariable, Some(variable)) => {
            format!("{} ({flag})", variable.to_string_lossy())
        }
        _ => flag,
    }
}

/// A duration as every setting takes it (`chaos::plan::read_duration`: `2` and `0.5` are
/// seconds, `250ms`, `15m`, `1h30m` say their unit), from `at_least` to `at_most`.
pub fn duration(at_least: Duration, at_most: Duration) -> Setting<Duration> {
    Setting::new(move |raw| {
        let duration = plan::read_duration(raw)?;
        if (at_least..=at_most).contains(&duration) {
            return Ok(duration);
        }
        Err(if at_least.is_zero() {
            format!("must be at most {}", humantime::format_duration(at_most))
        } else {
            format!(
                "must be from {} to {}",
                humantime::format_duration(at_least),
                humantime::format_duration(at_most)
            )
        })
    })
}

/// A duration as `duration` reads it, more than zero and at most `at_most`.
pub fn positive_duration(at_most: Duration) -> Setting<Duration> {
    Setting::new(move |raw| {
        let duration = plan::read_duration(raw)?;
        if !duration.is_zero() && duration <= at_most {
            return Ok(duration);
        }
        Err(format!("must be more than 0 and at most {}", humantime::format_duration(at_most)))
    })
}

/// A whole number within `range`.
pub fn number<N, R>(range: R) -> Setting<N>
where
    N: FromStr + PartialOrd + Display + Send + Sync + 'static,
    R: RangeBounds<N> + Send + Sync + 'static,
{
    Setting::new(move |raw| {
        let number: N = raw.parse().map_err(|_| "not a whole number".to_owned())?;
        if range.contains(&number) {
            return Ok(number);
        }
        Err(match (range.start_bound(), range.end_bound()) {
            (Bound::Included(least), Bound::Included(most)) => {
                format!("must be from {least} to {most}")
            }
            (Bound::Included(least), _) => format!("must be at least {least}"),
            (_, Bound::Included(most)) => format!("must be at most {most}"),
            _ => "out of range".to_owned(),
        })
    })
}

/// A probability as fault plans write it: `0.25` or `25%`.
pub fn probability() -> Setting<f64> {
    Setting::new(plan::parse_probability)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T>(setting: &Setting<T>, raw: &str) -> Result<T, String> {
        (setting.read)(raw)
    }

    #[test]
    fn durations_are_seconds_when_bare_and_say_their_unit_otherwise() {
        let up_to_a_day = duration(Duration::ZERO, Duration::from_secs(86_400));
        for (raw, expected) in [
            ("2", Duration::from_secs(2)),
            ("0.25", Duration::from_millis(250)),
            ("0.3", Duration::from_millis(300)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("300ms", Duration::from_millis(300)),
            ("1.5s", Duration::from_millis(1500)),
            ("15m", Duration::from_secs(900)),
            ("1h30m", Duration::from_secs(5400)),
            ("1h 30m", Duration::from_secs(5400)),
            ("1day", Duration::from_secs(86_400)),
        ] {
            assert_eq!(read(&up_to_a_day, raw), Ok(expected), "{raw}");
        }
        for raw in ["", "often", "-1", "2 parsecs", "1.2.3", "25h"] {
            assert!(read(&up_to_a_day, raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn a_duration_out_of_its_range_says_the_range() {
        let token = duration(Duration::from_secs(1), Duration::from_secs(3600));
        assert_eq!(read(&token, "0.5"), Err("must be from 1s to 1h".to_owned()));
        let timeout = positive_duration(Duration::from_secs(3600));
        assert_eq!(read(&timeout, "0"), Err("must be more than 0 and at most 1h".to_owned()));
        assert_eq!(read(&timeout, "61m").unwrap_err(), "must be more than 0 and at most 1h");
    }

    #[test]
    fn numbers_are_whole_and_within_their_range() {
        let pool = number(1_u32..=1000);
        assert_eq!(read(&pool, "8"), Ok(8));
        assert_eq!(read(&pool, "0").unwrap_err(), "must be from 1 to 1000");
        assert_eq!(read(&pool, "1.5").unwrap_err(), "not a whole number");
        assert_eq!(read(&number(1_u16..), "0").unwrap_err(), "must be at least 1");
    }
}
