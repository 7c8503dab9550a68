//! Time, injected: the engine never reads the system clock itself, so tests and replays
//! decide what "now" is.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current instant.
///
/// The engine asks its clock for the instant of every event and of every time-derived
/// value (`item.age`, `item.idle`). Implement it to read time from elsewhere.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is moved: for tests, simulations and replays.
///
/// Clones share one instant, so a test can keep a handle while the engine owns another.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use workstream_core::{Clock, ManualClock};
///
/// let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap());
/// let handle = clock.clone();
/// handle.advance(TimeDelta::days(8));
/// assert_eq!(clock.now(), Utc.with_ymd_and_hms(2026, 1, 13, 9, 0, 0).unwrap());
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Sets the instant.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the instant by `by` (which may be negative). It never panics: a move past the
    /// last instant chrono can represent stops at [`DateTime::<Utc>::MAX_UTC`], and one before
    /// the first at [`DateTime::<Utc>::MIN_UTC`].
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = saturating_add(*now, by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// `at + by`, clamped to the instants chrono can represent
/// ([`DateTime::<Utc>::MIN_UTC`] to [`DateTime::<Utc>::MAX_UTC`]) instead of panicking.
pub(crate) fn saturating_add(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(if by < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// `at - by`, clamped like [`saturating_add`].
pub(crate) fn saturating_sub(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_sub_signed(by)
        .unwrap_or(if by < TimeDelta::zero() {
            DateTime::<Utc>::MAX_UTC
        } else {
            DateTime::<Utc>::MIN_UTC
        })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::{Clock, ManualClock, saturating_add, saturating_sub};

    const MIN: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;
    const MAX: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

    fn spans() -> Vec<TimeDelta> {
        let mut spans = vec![
            TimeDelta::MAX,
            TimeDelta::MIN,
            TimeDelta::MAX - TimeDelta::nanoseconds(1),
            TimeDelta::MIN + TimeDelta::nanoseconds(1),
            TimeDelta::zero(),
            TimeDelta::nanoseconds(1),
            TimeDelta::seconds(1),
            TimeDelta::days(1),
            TimeDelta::days(366 * 1000),
        ];
        spans.extend(spans.clone().into_iter().map(|d| -d));
        spans
    }

    fn instants() -> Vec<DateTime<Utc>> {
        let mut at = vec![DateTime::<Utc>::UNIX_EPOCH];
        for d in [
            TimeDelta::zero(),
            TimeDelta::nanoseconds(1),
            TimeDelta::seconds(1),
            TimeDelta::hours(23),
            TimeDelta::days(40),
        ] {
            at.push(MIN + d);
            at.push(MAX - d);
        }
        at
    }

    #[test]
    fn advancing_past_either_end_stops_there() {
        for start in instants() {
            for by in spans() {
                let clock = ManualClock::new(start);
                clock.advance(by);
                let now = clock.now();
                match start.checked_add_signed(by) {
                    Some(exact) => assert_eq!(now, exact, "{start} + {by}"),
                    None if by < TimeDelta::zero() => assert_eq!(now, MIN, "{start} + {by}"),
                    None => assert_eq!(now, MAX, "{start} + {by}"),
                }
            }
        }
        let clock = ManualClock::new(MAX);
        clock.advance(TimeDelta::nanoseconds(1));
        clock.advance(TimeDelta::MAX);
        assert_eq!(clock.now(), MAX);
        clock.advance(TimeDelta::MIN);
        clock.advance(TimeDelta::MIN);
        assert_eq!(clock.now(), MIN);
    }

    #[test]
    fn saturating_arithmetic_agrees_with_chrono_in_range() {
        for at in instants() {
            for by in spans() {
                let up = saturating_add(at, by);
                let down = saturating_sub(at, by);
                assert!((MIN..=MAX).contains(&up) && (MIN..=MAX).contains(&down));
                if let Some(exact) = at.checked_add_signed(by) {
                    assert_eq!(up, exact);
                }
                if let Some(exact) = at.checked_sub_signed(by) {
                    assert_eq!(down, exact);
                }
                if by >= TimeDelta::zero() {
                    assert!(up >= at && down <= at, "{at} ± {by}");
                } else {
                    assert!(up <= at && down >= at, "{at} ± {by}");
                }
            }
        }
    }
}
