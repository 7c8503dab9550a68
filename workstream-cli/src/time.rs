//! Instants, offsets, windows and durations as the command line writes them.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use workstream::Window;

use crate::Failure;

/// `UTC`, `Z`, or `±HH:MM` (`±HHMM`, `±HH`).
pub(crate) fn offset(text: &str) -> Result<FixedOffset, Failure> {
    let bad = || {
        Failure::new(format!(
            "`{text}` is not an offset: give UTC or one such as +02:00 or -05:30"
        ))
    };
    if text.eq_ignore_ascii_case("utc") || text == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero is an offset"));
    }
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return Err(bad());
    }
    let hours: i32 = digits[..2].parse().map_err(|_| bad())?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().map_err(|_| bad())?
    } else {
        0
    };
    if hours > 18 || minutes > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(bad)
}

/// An RFC 3339 instant.
pub(crate) fn instant(text: &str) -> Result<DateTime<Utc>, Failure> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Failure::new(format!(
                "`{text}` is not an RFC 3339 instant such as 2026-12-01T09:00:00Z: {e}"
            ))
        })
}

/// A span: a whole number of minutes (`m`), hours (`h`), days (`d`) or weeks (`w`).
pub(crate) fn span(text: &str) -> Result<TimeDelta, Failure> {
    let bad = || {
        Failure::new(format!(
            "`{text}` is not a duration: give a number and a unit, m, h, d or w (90m, 24h, 7d)"
        ))
    };
    workstream::parse_span(text).ok_or_else(bad)
}

/// A window ending now: the last span (`24h`, `7d`), or a calendar window in `offset`.
pub(crate) fn window(
    text: &str,
    now: DateTime<Utc>,
    offset: FixedOffset,
) -> Result<Window, Failure> {
    Window::named(text, now, offset).ok_or_else(|| {
        Failure::new(format!(
            "`{text}` is not a window: give 1h, 24h, 7d, 30d (any number of m, h, d or w), \
             today, this-week or this-month"
        ))
    })
}

/// An instant as a table shows it: to the second, in `offset`.
pub(crate) fn shown(at: DateTime<Utc>, offset: FixedOffset) -> String {
    let local = at.with_timezone(&offset);
    if offset.local_minus_utc() == 0 {
        local.format("%Y-%m-%d %H:%M:%SZ").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M:%S%:z").to_string()
    }
}

/// A span as people read it: `3d 4h`, `2h 5m`, `40s`.
pub(crate) fn human(span: TimeDelta) -> String {
    let total = span.num_seconds();
    let sign = if total < 0 { "-" } else { "" };
    let s = total.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let pair = |a: u64, ua: &str, b: u64, ub: &str| {
        if b == 0 {
            format!("{a}{ua}")
        } else {
            format!("{a}{ua} {b}{ub}")
        }
    };
    let text = if d > 0 {
        pair(d, "d", h, "h")
    } else if h > 0 {
        pair(h, "h", m, "m")
    } else if m > 0 {
        pair(m, "m", sec, "s")
    } else {
        format!("{sec}s")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_spans_and_windows_read_as_written_and_refuse_the_rest() {
        assert_eq!(offset("UTC").unwrap().local_minus_utc(), 0);
        assert_eq!(offset("+02:00").unwrap().local_minus_utc(), 7200);
        assert_eq!(offset("-0530").unwrap().local_minus_utc(), -19800);
        for bad in ["Europe/Berlin", "+2", "+25:00", "02:00", "", "+02:60"] {
            assert!(offset(bad).is_err(), "{bad}");
        }
        assert_eq!(span("90m").unwrap(), TimeDelta::minutes(90));
        assert_eq!(span("7d").unwrap(), TimeDelta::days(7));
        for bad in ["", "d", "0h", "-1h", "1y", "1.5h", "99999999999999w"] {
            assert!(span(bad).is_err(), "{bad}");
        }
        let now = instant("2026-12-02T10:00:00Z").unwrap();
        let w = window("24h", now, offset("UTC").unwrap()).unwrap();
        assert_eq!(w.start, now - TimeDelta::hours(24));
        assert!(w.contains(now));
        let w = window("today", now, offset("+12:00").unwrap()).unwrap();
        assert_eq!(w.start, instant("2026-12-02T00:00:00+12:00").unwrap());
        assert!(window("yesterday", now, offset("UTC").unwrap()).is_err());
        assert_eq!(
            human(TimeDelta::seconds(3 * 86_400 + 4 * 3600 + 9)),
            "3d 4h"
        );
        assert_eq!(human(TimeDelta::seconds(125)), "2m 5s");
        assert_eq!(human(TimeDelta::days(1)), "1d");
        assert_eq!(human(TimeDelta::seconds(-40)), "-40s");
    }
}
