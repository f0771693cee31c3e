//! `date_time_handler`: parsing, formatting, time-zone conversion and date
//! arithmetic.

use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::format::StrftimeItems;
use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, NaiveDateTime, SecondsFormat,
    TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use llmspell_core::{ComponentMetadata, Error, ExecutionContext, Result, Tool, ToolCategory};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::params::ParamsSpec;

/// Parses, formats, converts and computes with dates and times.
///
/// Date-times are exchanged as RFC 3339 strings (`2024-03-10T12:00:00Z`);
/// time zones are IANA names (`Europe/Paris`) or `UTC`.
///
/// - `now { timezone? }` → a date-time description (below);
/// - `parse { input, format?, timezone? }`: RFC 3339, RFC 2822, or the
///   strftime `format` (`%Y-%m-%d %H:%M`); input without an offset is read in
///   `timezone` (default UTC) → a description;
/// - `format { datetime, format, timezone? }` → `{ result }`; `format` is a
///   strftime pattern or `rfc3339`, `rfc2822`, `timestamp`;
/// - `convert { datetime, timezone }` → a description in that zone;
/// - `add` / `subtract { datetime, duration, timezone? }` with `duration` an
///   object of `years`, `months`, `weeks`, `days` (calendar units, local time
///   in `timezone` or the input's offset) and `hours`, `minutes`, `seconds`,
///   `milliseconds` (exact) → a description;
/// - `difference { start, end }` → `{ milliseconds, seconds, minutes, hours,
///   days, human }` (positive when `end` is later).
///
/// A description is `{ datetime, timestamp, timezone, offset, year, month,
/// day, hour, minute, second, weekday, day_of_year }`.
#[derive(Debug, Clone)]
pub struct DateTimeHandler {
    metadata: ComponentMetadata,
}

impl DateTimeHandler {
    /// Creates the tool.
    pub fn new() -> Self {
        Self {
            metadata: ComponentMetadata::tool(
                "date_time_handler",
                "Parses, formats, converts between time zones and adds or compares date-times",
            ),
        }
    }
}

impl Default for DateTimeHandler {
    fn default() -> Self {
        Self::new()
    }
}

/// An amount of time to move a date-time by. Calendar units move the
/// date in local time; exact units move the instant.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
struct DurationParts {
    /// Calendar years (default 0).
    #[serde(default)]
    years: u32,
    /// Calendar months (default 0); the day is clamped to the month's last
    /// (January 31 plus one month is the end of February).
    #[serde(default)]
    months: u32,
    /// Calendar weeks of 7 days (default 0).
    #[serde(default)]
    weeks: u64,
    /// Calendar days (default 0).
    #[serde(default)]
    days: u64,
    /// Exact hours, may be negative (default 0).
    #[serde(default)]
    hours: i64,
    /// Exact minutes, may be negative (default 0).
    #[serde(default)]
    minutes: i64,
    /// Exact seconds, may be negative (default 0).
    #[serde(default)]
    seconds: i64,
    /// Exact milliseconds, may be negative (default 0).
    #[serde(default)]
    milliseconds: i64,
}

/// The parameters of `add` and `subtract`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Shift {
    /// The RFC 3339 date-time to start from, e.g. `2024-01-31T09:00:00Z`.
    datetime: String,
    /// How far to move.
    duration: DurationParts,
    /// The IANA time zone whose local calendar the calendar units follow
    /// (default: the offset of `datetime`).
    timezone: Option<String>,
}

/// The operations of `date_time_handler`. Every operation but `format` and
/// `difference` returns a description `{ datetime, timestamp, timezone,
/// offset, year, month, day, hour, minute, second, weekday, day_of_year }`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Operation {
    /// The current date-time, described in `timezone`.
    Now {
        /// An IANA time zone name such as `Europe/Paris` (default `UTC`).
        timezone: Option<String>,
    },
    /// Reads a date-time from text and describes it.
    Parse {
        /// The text to read: RFC 3339, RFC 2822 or `YYYY-MM-DD` unless
        /// `format` is given.
        input: String,
        /// A strftime pattern the input follows, e.g. `%d/%m/%Y %H:%M`
        /// (default: RFC 3339, RFC 2822 or `YYYY-MM-DD`).
        format: Option<String>,
        /// The IANA time zone of input that has no offset (default `UTC`).
        timezone: Option<String>,
    },
    /// Writes a date-time as text; output `{ result }`.
    Format {
        /// The RFC 3339 date-time to write.
        datetime: String,
        /// A strftime pattern such as `%Y-%m-%d`, or `rfc3339`, `rfc2822` or
        /// `timestamp` (Unix seconds).
        format: String,
        /// The IANA time zone to write it in (default: its own offset).
        timezone: Option<String>,
    },
    /// Describes a date-time in another time zone.
    Convert {
        /// The RFC 3339 date-time to convert.
        datetime: String,
        /// The IANA time zone to convert to, e.g. `Asia/Tokyo`.
        timezone: String,
    },
    /// Moves a date-time forward by `duration`.
    Add(Shift),
    /// Moves a date-time back by `duration`.
    Subtract(Shift),
    /// The time from `start` to `end`; output `{ milliseconds, seconds,
    /// minutes, hours, days, human }`, positive when `end` is later.
    Difference {
        /// The RFC 3339 start.
        start: String,
        /// The RFC 3339 end.
        end: String,
    },
}

/// How `date_time_handler` reads its parameters.
const PARAMS: ParamsSpec<Operation> = ParamsSpec::operations();

fn zone(field: &str, name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        Error::invalid_input(
            field,
            format!("unknown time zone \"{name}\"; expected an IANA name such as \"UTC\", \"Europe/Paris\" or \"America/New_York\""),
        )
    })
}

fn rfc3339(field: &str, s: &str) -> Result<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
        Error::invalid_input(
            field,
            format!(
                "expected an RFC 3339 date-time such as \"2024-03-10T12:00:00Z\", got \"{s}\" ({e})"
            ),
        )
    })
}

fn localize(naive: NaiveDateTime, tz: Tz, field: &str) -> Result<DateTime<FixedOffset>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Ok(dt.fixed_offset()),
        // A repeated hour (end of daylight saving): take the earlier instant.
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.fixed_offset()),
        LocalResult::None => Err(Error::invalid_input(
            field,
            format!("{naive} does not exist in {tz} (skipped by a daylight-saving change)"),
        )),
    }
}

fn parse_input(input: &str, format: Option<&str>, tz: Tz) -> Result<DateTime<FixedOffset>> {
    let input = input.trim();
    let Some(format) = format else {
        if let Ok(dt) = DateTime::parse_from_rfc3339(input) {
            return Ok(dt);
        }
        if let Ok(dt) = DateTime::parse_from_rfc2822(input) {
            return Ok(dt);
        }
        if let Ok(naive) = NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M:%S%.f") {
            return localize(naive, tz, "input");
        }
        if let Ok(date) = NaiveDate::parse_from_str(input, "%Y-%m-%d") {
            return localize(date.and_time(chrono::NaiveTime::MIN), tz, "input");
        }
        return Err(Error::invalid_input(
            "input",
            format!(
                "\"{input}\" is not RFC 3339, RFC 2822 or YYYY-MM-DD; pass `format` (strftime) to read other layouts"
            ),
        ));
    };
    StrftimeItems::new(format).parse().map_err(|_| {
        Error::invalid_input("format", format!("invalid strftime pattern \"{format}\""))
    })?;
    if let Ok(dt) = DateTime::parse_from_str(input, format) {
        return Ok(dt);
    }
    match NaiveDateTime::parse_from_str(input, format) {
        Ok(naive) => localize(naive, tz, "input"),
        Err(first) => match NaiveDate::parse_from_str(input, format) {
            Ok(date) => localize(date.and_time(chrono::NaiveTime::MIN), tz, "input"),
            Err(_) => Err(Error::invalid_input(
                "input",
                format!("\"{input}\" does not match the format \"{format}\": {first}"),
            )),
        },
    }
}

fn describe(dt: DateTime<FixedOffset>, timezone: &str) -> Value {
    json!({
        "datetime": dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "timestamp": dt.timestamp(),
        "timezone": timezone,
        "offset": dt.offset().to_string(),
        "year": dt.year(),
        "month": dt.month(),
        "day": dt.day(),
        "hour": dt.hour(),
        "minute": dt.minute(),
        "second": dt.second(),
        "weekday": dt.weekday().to_string(),
        "day_of_year": dt.ordinal(),
    })
}

fn format_with(dt: DateTime<FixedOffset>, format: &str) -> Result<String> {
    match format {
        "rfc3339" => Ok(dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        "rfc2822" => Ok(dt.to_rfc2822()),
        "timestamp" => Ok(dt.timestamp().to_string()),
        pattern => {
            let items = StrftimeItems::new(pattern).parse().map_err(|_| {
                Error::invalid_input("format", format!("invalid strftime pattern \"{pattern}\""))
            })?;
            let mut out = String::new();
            write!(out, "{}", dt.format_with_items(items.iter())).map_err(|_| {
                Error::invalid_input(
                    "format",
                    format!("the pattern \"{pattern}\" asks for fields this date-time lacks"),
                )
            })?;
            Ok(out)
        }
    }
}

fn shift<T: TimeZone>(dt: DateTime<T>, d: &DurationParts, forward: bool) -> Option<DateTime<T>> {
    let months = Months::new(d.years.checked_mul(12)?.checked_add(d.months)?);
    let days = Days::new(d.weeks.checked_mul(7)?.checked_add(d.days)?);
    let exact = TimeDelta::try_hours(d.hours)?
        .checked_add(&TimeDelta::try_minutes(d.minutes)?)?
        .checked_add(&TimeDelta::try_seconds(d.seconds)?)?
        .checked_add(&TimeDelta::try_milliseconds(d.milliseconds)?)?;
    if forward {
        dt.checked_add_months(months)?
            .checked_add_days(days)?
            .checked_add_signed(exact)
    } else {
        dt.checked_sub_months(months)?
            .checked_sub_days(days)?
            .checked_sub_signed(exact)
    }
}

fn human(delta: TimeDelta) -> String {
    let sign = if delta < TimeDelta::zero() { "-" } else { "" };
    let total = delta.num_seconds().unsigned_abs();
    let (d, h, m, s) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d}d"));
    }
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    format!("{sign}{}", parts.join(" "))
}

fn run(op: Operation) -> Result<Value> {
    match op {
        Operation::Now { timezone } => {
            let name = timezone.unwrap_or_else(|| "UTC".to_owned());
            let tz = zone("timezone", &name)?;
            Ok(describe(
                Utc::now().with_timezone(&tz).fixed_offset(),
                &name,
            ))
        }
        Operation::Parse {
            input,
            format,
            timezone,
        } => {
            let name = timezone.unwrap_or_else(|| "UTC".to_owned());
            let tz = zone("timezone", &name)?;
            let dt = parse_input(&input, format.as_deref(), tz)?;
            Ok(describe(dt, &name))
        }
        Operation::Format {
            datetime,
            format,
            timezone,
        } => {
            let mut dt = rfc3339("datetime", &datetime)?;
            if let Some(name) = timezone {
                dt = dt.with_timezone(&zone("timezone", &name)?).fixed_offset();
            }
            Ok(json!({ "result": format_with(dt, &format)? }))
        }
        Operation::Convert { datetime, timezone } => {
            let tz = zone("timezone", &timezone)?;
            let dt = rfc3339("datetime", &datetime)?;
            Ok(describe(dt.with_timezone(&tz).fixed_offset(), &timezone))
        }
        Operation::Add(Shift {
            datetime,
            duration,
            timezone,
        }) => arithmetic(&datetime, &duration, timezone.as_deref(), true),
        Operation::Subtract(Shift {
            datetime,
            duration,
            timezone,
        }) => arithmetic(&datetime, &duration, timezone.as_deref(), false),
        Operation::Difference { start, end } => {
            let delta = rfc3339("end", &end)? - rfc3339("start", &start)?;
            let ms = delta.num_milliseconds();
            Ok(json!({
                "milliseconds": ms,
                "seconds": delta.num_seconds(),
                "minutes": ms as f64 / 60_000.0,
                "hours": ms as f64 / 3_600_000.0,
                "days": ms as f64 / 86_400_000.0,
                "human": human(delta),
            }))
        }
    }
}

fn arithmetic(
    datetime: &str,
    d: &DurationParts,
    timezone: Option<&str>,
    forward: bool,
) -> Result<Value> {
    let dt = rfc3339("datetime", datetime)?;
    let out_of_range = || {
        Error::invalid_input(
            "duration",
            "the result is outside the representable date range",
        )
    };
    match timezone {
        Some(name) => {
            let tz = zone("timezone", name)?;
            let shifted = shift(dt.with_timezone(&tz), d, forward).ok_or_else(out_of_range)?;
            Ok(describe(shifted.fixed_offset(), name))
        }
        None => {
            let shifted = shift(dt, d, forward).ok_or_else(out_of_range)?;
            Ok(describe(shifted, &shifted.offset().to_string()))
        }
    }
}

#[async_trait]
impl Tool for DateTimeHandler {
    fn metadata(&self) -> &ComponentMetadata {
        &self.metadata
    }

    fn category(&self) -> ToolCategory {
        ToolCategory::Utility
    }

    fn parameters_schema(&self) -> Value {
        PARAMS.schema()
    }

    fn check_params(&self, params: &Value) -> Result<()> {
        PARAMS.check(params)
    }

    fn examples(&self) -> Vec<Value> {
        vec![
            json!({
                "operation": "convert",
                "datetime": "2024-07-01T12:00:00Z", "timezone": "America/New_York"
            }),
            json!({
                "operation": "add", "datetime": "2024-01-31T09:00:00Z",
                "duration": { "months": 1, "hours": 2 }
            }),
        ]
    }

    fn output_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "datetime": { "type": "string", "description": "RFC 3339 result" },
                "timestamp": { "type": "integer", "description": "Unix seconds" },
                "timezone": { "type": "string" },
                "offset": { "type": "string", "description": "UTC offset, e.g. +02:00" },
                "weekday": { "type": "string" },
                "result": { "type": "string", "description": "format: the formatted text" },
                "milliseconds": { "type": "integer", "description": "difference: end - start" },
                "seconds": { "type": "integer" },
                "hours": { "type": "number" },
                "days": { "type": "number" },
                "human": { "type": "string", "description": "difference: e.g. 1d 2h 3m" }
            }
        })
    }

    async fn execute(&self, params: Value, _ctx: &ExecutionContext) -> Result<Value> {
        run(PARAMS.read(params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(params: Value) -> Result<Value> {
        run(PARAMS.read(params)?)
    }

    #[test]
    fn converts_a_fixed_instant_between_zones() {
        let out = exec(json!({"operation": "convert", "datetime": "2024-07-01T12:00:00Z", "timezone": "America/New_York"})).unwrap();
        assert_eq!(out["datetime"], "2024-07-01T08:00:00-04:00");
        assert_eq!(out["offset"], "-04:00");
        assert_eq!(out["timestamp"], 1_719_835_200);
        let winter = exec(json!({"operation": "convert", "datetime": "2024-01-15T12:00:00Z", "timezone": "Europe/Paris"})).unwrap();
        assert_eq!(winter["datetime"], "2024-01-15T13:00:00+01:00");
        assert_eq!(winter["weekday"], "Mon");
    }

    #[test]
    fn parses_rfc3339_and_custom_formats() {
        let out =
            exec(json!({"operation": "parse", "input": "2024-02-29T23:30:00+05:30"})).unwrap();
        assert_eq!(out["datetime"], "2024-02-29T23:30:00+05:30");
        assert_eq!(out["day_of_year"], 60);
        let out = exec(json!({"operation": "parse", "input": "31/12/2023 18:45", "format": "%d/%m/%Y %H:%M", "timezone": "Asia/Tokyo"})).unwrap();
        assert_eq!(out["datetime"], "2023-12-31T18:45:00+09:00");
        let out = exec(json!({"operation": "parse", "input": "2023-06-01"})).unwrap();
        assert_eq!(out["datetime"], "2023-06-01T00:00:00Z");
    }

    #[test]
    fn parse_errors_name_the_input_and_format() {
        let err = exec(json!({"operation": "parse", "input": "yesterday-ish"})).unwrap_err();
        assert!(err.to_string().contains("`input`"), "{err}");
        let err =
            exec(json!({"operation": "parse", "input": "2024", "format": "%d/%m/%Y"})).unwrap_err();
        assert!(
            err.to_string().contains("does not match the format"),
            "{err}"
        );
        let err = exec(json!({"operation": "convert", "datetime": "2024-01-01T00:00:00Z", "timezone": "Mars/Olympus"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown time zone \"Mars/Olympus\""),
            "{err}"
        );
    }

    #[test]
    fn formats_with_strftime_and_named_formats() {
        let r = |f: &str| {
            exec(json!({"operation": "format", "datetime": "2024-03-05T07:08:09Z", "format": f}))
                .unwrap()["result"]
                .clone()
        };
        assert_eq!(r("%Y/%m/%d %H:%M"), "2024/03/05 07:08");
        assert_eq!(r("%A, %B %e"), "Tuesday, March  5");
        assert_eq!(r("timestamp"), "1709622489");
        assert_eq!(r("rfc2822"), "Tue, 5 Mar 2024 07:08:09 +0000");
        let err = exec(
            json!({"operation": "format", "datetime": "2024-03-05T07:08:09Z", "format": "%Q"}),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("invalid strftime pattern"),
            "{err}"
        );
    }

    #[test]
    fn calendar_arithmetic_respects_month_ends_and_dst() {
        let out = exec(json!({"operation": "add", "datetime": "2024-01-31T10:00:00Z", "duration": {"months": 1}})).unwrap();
        assert_eq!(out["datetime"], "2024-02-29T10:00:00Z");
        // Across the 2024-03-31 switch to summer time in Paris, a calendar day keeps 09:00 local.
        let out = exec(json!({"operation": "add", "datetime": "2024-03-30T09:00:00+01:00", "duration": {"days": 1}, "timezone": "Europe/Paris"})).unwrap();
        assert_eq!(out["datetime"], "2024-03-31T09:00:00+02:00");
        let out = exec(json!({"operation": "subtract", "datetime": "2024-01-01T00:00:00Z", "duration": {"hours": 1, "minutes": 30}})).unwrap();
        assert_eq!(out["datetime"], "2023-12-31T22:30:00Z");
    }

    #[test]
    fn difference_between_two_times() {
        let out = exec(json!({"operation": "difference", "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T03:04:05+00:00"})).unwrap();
        assert_eq!(out["seconds"], 97_445);
        assert_eq!(out["human"], "1d 3h 4m 5s");
        let back = exec(json!({"operation": "difference", "start": "2024-01-01T01:00:00Z", "end": "2024-01-01T00:00:00Z"})).unwrap();
        assert_eq!(back["seconds"], -3600);
        assert_eq!(back["human"], "-1h");
    }

    #[test]
    fn now_reports_the_zone() {
        let out = exec(json!({"operation": "now", "timezone": "Asia/Kolkata"})).unwrap();
        assert_eq!(out["offset"], "+05:30");
        let ts = out["timestamp"].as_i64().unwrap();
        assert!((ts - Utc::now().timestamp()).abs() < 5);
    }
}
