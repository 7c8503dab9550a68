//! Durations as written in workflow files: `90s`, `15m`, `24h`, `7d`, `2w`, `1d12h`.

use std::time::Duration;

/// Reads a duration: one or more `<integer><unit>` parts with units `s`, `m`, `h`, `d`
/// (24 hours) and `w` (7 days). A duration is never zero. `Err` says what is wrong, for the
/// diagnostic that names the file's position.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "`{text}` is not a duration: `{c}` is not a unit (s, m, h, d, w)"
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "`{text}` is not a duration: the unit `{c}` has no number before it"
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: the number is too large"))?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("`{text}` is not a duration: it is too long"))?;
        digits.clear();
        parts += 1;
    }
    if !digits.is_empty() {
        return Err(format!(
            "`{text}` is not a duration: `{digits}` needs a unit (s, m, h, d, w), e.g. `{digits}h`"
        ));
    }
    if parts == 0 {
        return Err("a duration cannot be empty: write e.g. `24h` or `7d`".into());
    }
    if total == 0 {
        return Err(format!(
            "`{text}` is not a duration: a duration is never zero"
        ));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_units_and_compounds() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(1_209_600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn refuses_bad_durations() {
        for bad in [
            "",
            "24",
            "h",
            "0h",
            "1x",
            "1.5h",
            "-1h",
            " 1h",
            "99999999999999999999s",
            "99999999999999w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
