//! Windows of time: the spans queries, signals and flow metrics are asked about.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

use crate::clock::{saturating_add, saturating_sub};

/// A half-open window of time, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// The first instant in the window.
    pub start: DateTime<Utc>,
    /// The first instant after it.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window `[start, end)`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// Whether `at` falls in the window.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The `span` up to and including `now`: `[now - span, now]`.
    ///
    /// It never panics. A span reaching before the first instant chrono can represent starts
    /// the window at [`DateTime::<Utc>::MIN_UTC`]; a negative span counts as none (the
    /// window holds only `now`). The window ends one nanosecond after `now`, or at
    /// [`DateTime::<Utc>::MAX_UTC`] when `now` is that last instant (which is then left out).
    pub fn last(span: TimeDelta, now: DateTime<Utc>) -> Self {
        let start = saturating_sub(now, span.max(TimeDelta::zero()));
        Self::new(start, saturating_add(now, TimeDelta::nanoseconds(1)))
    }

    /// The calendar day of `now` at `offset` (use `FixedOffset::east_opt(0)` for UTC):
    /// from its midnight to the next.
    ///
    /// It never panics, whatever the offset. Near the ends of chrono's range a midnight may
    /// not be representable (the day's local date can even lie outside it); the window is
    /// then clamped to [`DateTime::<Utc>::MIN_UTC`] or [`DateTime::<Utc>::MAX_UTC`], so it
    /// still holds `now` unless `now` is the last instant.
    pub fn today(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let day = local_day(now, offset);
        Self::new(midnight(day, offset), midnight(day + 1, offset))
    }

    /// The week of `now` at `offset`, from Monday's midnight to the next Monday's.
    ///
    /// It never panics; near the ends of chrono's range it is clamped as
    /// [`today`](Self::today) is.
    pub fn this_week(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let day = local_day(now, offset);
        // 1970-01-01, day 0, was a Thursday: three days after a Monday.
        let monday = day - (day + 3).rem_euclid(7);
        Self::new(midnight(monday, offset), midnight(monday + 7, offset))
    }

    /// The calendar month of `now` at `offset`, from the midnight that starts its first day
    /// to the one that starts the next month's.
    ///
    /// It never panics; near the ends of chrono's range it is clamped as
    /// [`today`](Self::today) is.
    pub fn this_month(now: DateTime<Utc>, offset: FixedOffset) -> Self {
        let (year, month, _) = civil_from_days(local_day(now, offset));
        let first = days_from_civil(year, month, 1);
        let next = if month == 12 {
            days_from_civil(year + 1, 1, 1)
        } else {
            days_from_civil(year, month + 1, 1)
        };
        Self::new(midnight(first, offset), midnight(next, offset))
    }

    /// How long the window lasts.
    pub fn length(&self) -> TimeDelta {
        self.end - self.start
    }

    /// A window by the name people give it, ending at `now`: `today`, `this-week`,
    /// `this-month` (calendar windows at `offset`), or a span such as `1h`, `24h`, `7d`,
    /// `30d` read by [`parse_span`] (the last span up to `now`). `None` for anything else.
    ///
    /// ```
    /// # use workstream_core::Window;
    /// # use chrono::{FixedOffset, TimeDelta, Utc};
    /// let now = Utc::now();
    /// let utc = FixedOffset::east_opt(0).unwrap();
    /// assert_eq!(Window::named("24h", now, utc), Some(Window::last(TimeDelta::hours(24), now)));
    /// assert_eq!(Window::named("today", now, utc), Some(Window::today(now, utc)));
    /// assert_eq!(Window::named("yesterday", now, utc), None);
    /// ```
    pub fn named(name: &str, now: DateTime<Utc>, offset: FixedOffset) -> Option<Self> {
        Some(match name {
            "today" => Self::today(now, offset),
            "this-week" => Self::this_week(now, offset),
            "this-month" => Self::this_month(now, offset),
            span => Self::last(parse_span(span)?, now),
        })
    }
}

/// A span as people write it: a positive whole number of minutes (`90m`), hours (`24h`),
/// days (`7d`) or weeks (`2w`), at most a thousand years. `None` for anything else.
pub fn parse_span(text: &str) -> Option<TimeDelta> {
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    if number <= 0 {
        return None;
    }
    let span = match unit {
        'm' => TimeDelta::try_minutes(number),
        'h' => TimeDelta::try_hours(number),
        'd' => TimeDelta::try_days(number),
        'w' => TimeDelta::try_weeks(number),
        _ => None,
    };
    span.filter(|s| *s <= TimeDelta::days(365 * 1000))
}

const SECONDS_PER_DAY: i64 = 86_400;

/// The local day `now` falls on at `offset`, counted from 1970-01-01. The count is
/// computed in seconds, not with chrono's dates, so it exists even for the day just past
/// either end of chrono's calendar.
fn local_day(now: DateTime<Utc>, offset: FixedOffset) -> i64 {
    (now.timestamp() + i64::from(offset.local_minus_utc())).div_euclid(SECONDS_PER_DAY)
}

/// The instant local `day` starts at `offset`, clamped to the instants chrono can represent.
fn midnight(day: i64, offset: FixedOffset) -> DateTime<Utc> {
    let seconds = day * SECONDS_PER_DAY - i64::from(offset.local_minus_utc());
    DateTime::from_timestamp(seconds, 0).unwrap_or(if seconds < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The day number (from 1970-01-01) of a date of the proleptic Gregorian calendar, for any
/// year (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    // Months counted from March, so the leap day ends the year.
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month, day) of a day number, the inverse of [`days_from_civil`]
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are small: 1..=31 and 1..=12.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Utc};

    use super::Window;

    const MIN: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;
    const MAX: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

    /// Instants at, near and far from both ends of chrono's range.
    fn instants() -> Vec<DateTime<Utc>> {
        let near = [
            TimeDelta::zero(),
            TimeDelta::nanoseconds(1),
            TimeDelta::seconds(1),
            TimeDelta::hours(1),
            TimeDelta::hours(23) + TimeDelta::minutes(59),
            TimeDelta::days(1),
            TimeDelta::days(2),
            TimeDelta::days(6),
            TimeDelta::days(8),
            TimeDelta::days(31),
            TimeDelta::days(40),
            TimeDelta::days(400),
        ];
        let mut at = vec![
            DateTime::<Utc>::UNIX_EPOCH,
            DateTime::<Utc>::UNIX_EPOCH - TimeDelta::nanoseconds(1),
            DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
                .unwrap()
                .to_utc(),
        ];
        for d in near {
            at.push(MIN + d);
            at.push(MAX - d);
        }
        at
    }

    fn offsets() -> Vec<FixedOffset> {
        [0, 1, -1, 3600, -3600, 5 * 3600 + 1800, 86_399, -86_399]
            .into_iter()
            .map(|s| FixedOffset::east_opt(s).unwrap())
            .collect()
    }

    fn spans() -> Vec<TimeDelta> {
        let spans = [
            TimeDelta::MAX,
            TimeDelta::MAX - TimeDelta::nanoseconds(1),
            TimeDelta::MIN,
            TimeDelta::MIN + TimeDelta::nanoseconds(1),
            TimeDelta::zero(),
            TimeDelta::nanoseconds(1),
            TimeDelta::hours(1),
            TimeDelta::days(7),
            TimeDelta::days(200_000 * 365),
        ];
        spans
            .iter()
            .chain(spans.iter().map(|d| -*d).collect::<Vec<_>>().iter())
            .copied()
            .collect()
    }

    /// The local date of `at` at `offset`, when chrono can represent it.
    fn local_date(at: DateTime<Utc>, offset: FixedOffset) -> Option<NaiveDate> {
        at.naive_utc().checked_add_offset(offset).map(|t| t.date())
    }

    fn well_formed(w: Window) {
        assert!(w.start <= w.end, "{w:?}");
        assert!((MIN..=MAX).contains(&w.start) && (MIN..=MAX).contains(&w.end));
    }

    #[test]
    fn last_saturates_at_both_ends() {
        for now in instants() {
            for span in spans() {
                let w = Window::last(span, now);
                well_formed(w);
                // `now` is in its own window unless nothing comes after it.
                assert_eq!(w.contains(now), now < MAX, "last({span}, {now})");
                if span >= TimeDelta::zero()
                    && let Some(start) = now.checked_sub_signed(span)
                {
                    assert_eq!(w.start, start, "last({span}, {now})");
                }
                if span > TimeDelta::zero() && now.checked_sub_signed(span).is_none() {
                    assert_eq!(w.start, MIN, "last({span}, {now})");
                }
                if span <= TimeDelta::zero() {
                    assert_eq!(w.start, now, "last({span}, {now})");
                }
            }
        }
    }

    #[test]
    fn calendar_windows_saturate_at_both_ends() {
        for now in instants() {
            for offset in offsets() {
                let windows = [
                    ("today", Window::today(now, offset), 1..=1),
                    ("this_week", Window::this_week(now, offset), 7..=7),
                    ("this_month", Window::this_month(now, offset), 28..=31),
                ];
                for (name, w, days) in windows {
                    well_formed(w);
                    // Clamping keeps `now` inside: the start only moves down to the first
                    // instant, the end only down to the last, which is after `now` unless
                    // `now` is the last instant itself.
                    assert_eq!(w.contains(now), now < MAX, "{name}({now}, {offset}): {w:?}");
                    // Away from the ends, nothing is clamped.
                    if w.start > MIN && w.end < MAX {
                        let length = w.length();
                        assert!(
                            days.contains(&length.num_days())
                                && length == TimeDelta::days(length.num_days()),
                            "{name}({now}, {offset}): {w:?}"
                        );
                        let local = w.start.with_timezone(&offset);
                        assert_eq!(local.time(), chrono::NaiveTime::MIN, "{name}: {w:?}");
                        let next = w.end.with_timezone(&offset);
                        assert_eq!(next.time(), chrono::NaiveTime::MIN, "{name}: {w:?}");
                        if name == "this_week" {
                            assert_eq!(local.weekday(), chrono::Weekday::Mon, "{w:?}");
                        }
                        if name == "this_month" {
                            assert_eq!((local.day(), next.day()), (1, 1), "{w:?}");
                        }
                    }
                    // When the local day is one chrono has, the window is the one its
                    // calendar gives.
                    if let Some(day) = local_date(now, offset)
                        && name == "today"
                    {
                        let start = day.and_time(chrono::NaiveTime::MIN);
                        if let Some(start) = start.checked_sub_offset(offset) {
                            assert_eq!(w.start, start.and_utc(), "{now} {offset}");
                        } else {
                            assert_eq!(w.start, MIN, "{now} {offset}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn calendar_windows_agree_with_chrono_across_its_range() {
        // Every 9,973rd day from the first to the last, at several offsets and times.
        let first = NaiveDate::MIN.num_days_from_ce();
        let last = NaiveDate::MAX.num_days_from_ce();
        for offset in offsets() {
            for ce in (first..=last).step_by(9_973).chain([first, last]) {
                let day = NaiveDate::from_num_days_from_ce_opt(ce).unwrap();
                for time in [(0, 0, 0), (12, 30, 0), (23, 59, 59)] {
                    let local = day.and_hms_opt(time.0, time.1, time.2).unwrap();
                    let Some(utc) = local.checked_sub_offset(offset) else {
                        continue;
                    };
                    let now = utc.and_utc();
                    let expect = |from: NaiveDate| {
                        from.and_time(chrono::NaiveTime::MIN)
                            .checked_sub_offset(offset)
                            .map_or(if from.year() < 0 { MIN } else { MAX }, |t| t.and_utc())
                    };
                    let monday = day.week(chrono::Weekday::Mon).checked_first_day();
                    let first_of_month = day.with_day(1).unwrap();
                    let w = Window::this_week(now, offset);
                    // A Monday before chrono's first day starts the week at the first instant.
                    assert_eq!(w.start, monday.map_or(MIN, expect), "{day} {offset}");
                    let w = Window::this_month(now, offset);
                    assert_eq!(w.start, expect(first_of_month), "{day} {offset}");
                    if let Some(next) = first_of_month.checked_add_months(chrono::Months::new(1)) {
                        assert_eq!(w.end, expect(next), "{day} {offset}");
                    }
                }
            }
        }
    }
}
