//! The report's window: `7d`, `24h`, `90m`, `3600s`, as `pilot report
//! --since` and the console's rollout page take it, and as they name it.

use std::time::Duration;

/// A window such as `7d`, `24h`, `90m` or `3600s` (1 s to 366 days).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("`{text}`: expected a number and a unit, such as 7d or 24h"))?;
    let seconds = match unit {
        "d" => number.checked_mul(86_400),
        "h" => number.checked_mul(3_600),
        "m" => number.checked_mul(60),
        "s" | "" => Some(number),
        other => return Err(format!("`{text}`: unknown unit `{other}`; use d, h, m or s")),
    };
    match seconds {
        Some(s) if (1..=366 * 86_400).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(format!("`{text}`: the window must be from 1s to 366d")),
    }
}

/// The window in words: `7 days`, `day`, `24 hours`... as in "the last 7 days".
pub fn name(seconds: u64) -> String {
    match seconds {
        86_400 => "day".into(),
        3_600 => "hour".into(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_with_their_units_and_bounds() {
        assert_eq!(parse("7d").unwrap().as_secs(), 604_800);
        assert_eq!(parse("24h").unwrap().as_secs(), 86_400);
        assert_eq!(parse("90m").unwrap().as_secs(), 5_400);
        assert_eq!(parse("3600").unwrap().as_secs(), 3_600);
        for bad in ["", "d", "7w", "0d", "400d", "-1d", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_named_in_their_largest_whole_unit() {
        assert_eq!(name(604_800), "7 days");
        assert_eq!(name(86_400), "day");
        assert_eq!(name(7_200), "2 hours");
        assert_eq!(name(5_400), "90 minutes");
        assert_eq!(name(61), "61 s");
    }
}
