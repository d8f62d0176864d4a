//! Durations as people write them on a command line (`90s`, `7m`, `1h30m`,
//! `250ms`, plain seconds) and as they read them back in messages.

use std::time::Duration;

/// Parses `250ms`, `90s`, `7m`, `1h`, compounds such as `1m30s`, and a plain
/// number of seconds (`420`).
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let invalid = || {
        format!("{text:?} is not a duration: use a number with a unit (ms, s, m, h), like 90s, 7m or 1m30s, or plain seconds")
    };
    if s.is_empty() {
        return Err(invalid());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(Duration::from_secs).map_err(|_| invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part).ok_or_else(invalid)?;
    }
    Ok(total)
}

/// Longest duration any flag takes: keeps deadline arithmetic far from
/// overflow, and nothing in a release gate should wait longer.
pub const MAX_FLAG: Duration = Duration::from_secs(24 * 3600);

/// [`parse`] for a flag: positive and at most [`MAX_FLAG`]. Usable directly
/// as a clap `value_parser`.
pub fn parse_flag(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        d if d.is_zero() => Err(format!("{text:?} is zero; give a positive duration")),
        d if d > MAX_FLAG => Err(format!("{text:?} is longer than 24h")),
        d => Ok(d),
    }
}

/// `250ms`, `42s`, `7m`, `1m30s`, `1h2m3s`: whole seconds once past one second.
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let secs = Duration::from_secs;
        assert_eq!(parse("90s"), Ok(secs(90)));
        assert_eq!(parse("7m"), Ok(secs(420)));
        assert_eq!(parse("1h"), Ok(secs(3600)));
        assert_eq!(parse("420"), Ok(secs(420)));
        assert_eq!(parse("1m30s"), Ok(secs(90)));
        assert_eq!(parse(" 250ms "), Ok(Duration::from_millis(250)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn flags_are_positive_and_bounded() {
        assert_eq!(parse_flag("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_flag("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_flag("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["0", "0s", "25h", "ms10"] {
            assert!(parse_flag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in ["", "s", "7 m", "1.5s", "7min", "-1s", "m7", "10sx", "7m7"] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let message = parse("soon").unwrap_err();
        assert!(message.contains("7m"), "{message}");
    }

    #[test]
    fn prints_back_compactly() {
        assert_eq!(human(Duration::from_millis(250)), "250ms");
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(420)), "7m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
        assert_eq!(human(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(human(Duration::from_millis(1999)), "1s");
    }
}
