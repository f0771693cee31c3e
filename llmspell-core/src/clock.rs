//! Time-ordered ids and wall-clock timestamps, cheap enough for hot paths.
//!
//! Events and hook contexts get a UUID v7 and a timestamp when they are
//! built. Reading the system clock and the uuid crate's shared v7 context
//! cost ~100 ns together on this machine class, as much as a whole publish,
//! so:
//!
//! - time comes from the CPU's invariant TSC through `quanta` (~11 ns),
//!   anchored to the system clock per thread, re-anchored every 100 ms,
//!   with the TSC's rate against the system clock measured over each period
//!   and applied to the next (so calibration error and NTP adjustments are
//!   followed; see [`unix_nanos`]);
//! - ids follow RFC 9562's "monotonic random" method: the 48-bit millisecond
//!   timestamp, then a per-thread 42-bit counter that starts at a random
//!   value and increments, then 32 random bits fixed per thread. Ids from one
//!   thread strictly increase; ids from different threads are ordered to the
//!   millisecond and cannot collide unless two threads draw the same 74
//!   random bits.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use uuid::Uuid;

const REANCHOR: Duration = Duration::from_millis(100);
const COUNTER_MASK: u64 = (1 << 42) - 1;

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

thread_local! {
    /// This thread's anchor of the TSC to the system clock.
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
    /// (next counter value, random tail)
    static IDS: Cell<Option<(u64, u32)>> = const { Cell::new(None) };
    /// (unix day, its calendar date)
    static DAY: Cell<Option<(u64, NaiveDate)>> = const { Cell::new(None) };
}

fn system_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A monotonic instant from the TSC (through `quanta`), for measuring
/// durations on hot paths: one load of the shared calibrated clock and a
/// counter read, without the thread-local mock check of
/// `quanta::Instant::now`.
#[inline]
pub fn instant() -> quanta::Instant {
    CLOCK.get_or_init(quanta::Clock::new).now()
}

/// The time since `start`, an [`instant`] (zero if `start` is later).
#[inline]
pub fn since(start: quanta::Instant) -> Duration {
    instant().saturating_duration_since(start)
}

/// Nanoseconds since the unix epoch, from the TSC anchored to the system clock.
///
/// Each thread keeps an anchor (a system-clock reading and the TSC instant
/// taken with it) and a rate: system-clock nanoseconds per TSC nanosecond,
/// measured over the previous anchor period. The TSC's calibration against
/// the system clock is off by up to a few hundred parts per million on
/// virtual machines, which over one period would let readings run ahead of
/// the system clock by hundreds of microseconds and then jump back; the
/// measured rate removes that error from the next period. Readings on one
/// thread never go backwards.
pub fn unix_nanos() -> u64 {
    let now = instant();
    ANCHOR.with(|cell| {
        let mut anchor = match cell.get() {
            Some(a) if now.saturating_duration_since(a.at) < REANCHOR => a,
            previous => {
                let wall = system_nanos();
                Anchor {
                    wall,
                    at: now,
                    rate: previous
                        .map_or_else(|| RATE.load(Ordering::Relaxed), |a| a.next_rate(wall, now)),
                    last: previous.map_or(0, |a| a.last),
                }
            }
        };
        let since = now.saturating_duration_since(anchor.at).as_nanos() as u64;
        let t = anchor.wall + ((u128::from(since) * u128::from(anchor.rate)) >> RATE_SHIFT) as u64;
        // Never behind the previous reading on this thread.
        let t = t.max(anchor.last);
        anchor.last = t;
        cell.set(Some(anchor));
        t
    })
}

/// Fixed-point scale of [`Anchor::rate`].
const RATE_SHIFT: u32 = 32;
/// A rate of exactly one system nanosecond per TSC nanosecond.
const RATE_ONE: u64 = 1 << RATE_SHIFT;
/// The most a measured rate may differ from one (1%): beyond that the
/// measurement is wrong (a suspended VM, a stepped clock), not the TSC.
const RATE_LIMIT: u64 = RATE_ONE / 100;

/// The last rate measured on any thread: a new thread's first anchor starts
/// from it.
static RATE: AtomicU64 = AtomicU64::new(RATE_ONE);

/// One thread's anchor of the TSC to the system clock.
#[derive(Clone, Copy)]
struct Anchor {
    /// Unix nanoseconds at the anchor.
    wall: u64,
    /// The TSC instant at the anchor.
    at: quanta::Instant,
    /// System-clock nanoseconds per TSC nanosecond, fixed point (2^32 = 1).
    rate: u64,
    /// The last reading returned on this thread.
    last: u64,
}

impl Anchor {
    /// The rate measured from this anchor to a new one at (`wall`, `now`),
    /// or this anchor's rate when the period is too short or implausible.
    fn next_rate(&self, wall: u64, now: quanta::Instant) -> u64 {
        let tsc = now.saturating_duration_since(self.at).as_nanos();
        let Some(elapsed) = wall.checked_sub(self.wall) else {
            return self.rate; // the system clock stepped back
        };
        if tsc < REANCHOR.as_nanos() / 2 {
            return self.rate;
        }
        let rate = ((u128::from(elapsed) << RATE_SHIFT) / tsc) as u64;
        if rate.abs_diff(RATE_ONE) > RATE_LIMIT {
            self.rate
        } else {
            RATE.store(rate, Ordering::Relaxed);
            rate
        }
    }
}

fn next_counter() -> (u64, u32) {
    IDS.with(|ids| {
        let (counter, tail) = ids.get().unwrap_or_else(|| {
            let seed = Uuid::new_v4().as_u128();
            ((seed as u64) & (COUNTER_MASK >> 1), (seed >> 64) as u32)
        });
        ids.set(Some(((counter + 1) & COUNTER_MASK, tail)));
        (counter, tail)
    })
}

/// A UUID v7 for the instant `unix_nanos` (see the module docs for the layout).
pub fn v7_id(unix_nanos: u64) -> Uuid {
    let (c, tail) = next_counter();
    let t = tail.to_be_bytes();
    let bytes = [
        ((c >> 38) & 0x0f) as u8,
        (c >> 30) as u8,
        ((c >> 24) & 0x3f) as u8,
        (c >> 16) as u8,
        (c >> 8) as u8,
        c as u8,
        t[0],
        t[1],
        t[2],
        t[3],
    ];
    uuid::Builder::from_unix_timestamp_millis(unix_nanos / 1_000_000, &bytes).into_uuid()
}

/// `unix_nanos` as a `DateTime`, reusing the calendar date computed for the
/// current day (the date arithmetic is most of chrono's conversion cost).
pub fn to_datetime(unix_nanos: u64) -> DateTime<Utc> {
    let secs = unix_nanos / 1_000_000_000;
    let day = secs / 86_400;
    let secs_of_day = (secs % 86_400) as u32;
    let nanos = (unix_nanos % 1_000_000_000) as u32;
    let date = DAY.with(|cache| match cache.get() {
        Some((d, date)) if d == day => Some(date),
        _ => {
            let date = DateTime::from_timestamp(i64::try_from(day * 86_400).ok()?, 0)?.date_naive();
            cache.set(Some((day, date)));
            Some(date)
        }
    });
    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs_of_day, nanos);
    match (date, time) {
        (Some(date), Some(time)) => NaiveDateTime::new(date, time).and_utc(),
        _ => DateTime::from_timestamp_nanos(i64::try_from(unix_nanos).unwrap_or(i64::MAX)),
    }
}

/// A fresh UUID v7 and the timestamp it encodes, from one clock read.
pub fn id_and_timestamp() -> (Uuid, DateTime<Utc>) {
    let nanos = unix_nanos();
    (v7_id(nanos), to_datetime(nanos))
}

/// The current time as a `DateTime<Utc>`.
pub fn now_utc() -> DateTime<Utc> {
    to_datetime(unix_nanos())
}

/// A fresh UUID v7.
pub fn new_v7() -> Uuid {
    v7_id(unix_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_7_and_strictly_increasing_per_thread() {
        let mut last = v7_id(unix_nanos());
        for _ in 0..10_000 {
            let id = v7_id(unix_nanos());
            assert_eq!(id.get_version_num(), 7);
            assert!(id > last, "{id} after {last}");
            last = id;
        }
    }

    #[test]
    fn ids_from_many_threads_are_unique() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..20_000)
                        .map(|_| id_and_timestamp().0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Uuid> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn readings_follow_the_system_clock_and_never_go_back() {
        // The first period runs on the shared or default rate; from the
        // second on, the measured rate applies.
        let warm = std::time::Instant::now();
        while warm.elapsed() < REANCHOR * 3 {
            let _ = unix_nanos();
        }
        let mut last = 0;
        let mut worst = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < REANCHOR * 3 {
            let before = system_nanos();
            let t = unix_nanos();
            let after = system_nanos();
            assert!(t >= last, "went back from {last} to {t}");
            last = t;
            worst = worst
                .max(before.saturating_sub(t))
                .max(t.saturating_sub(after));
        }
        assert!(worst < 100_000, "{worst} ns away from the system clock");
    }

    #[test]
    fn datetime_conversion_matches_chrono() {
        for nanos in [
            0u64,
            1,
            86_399_999_999_999,
            86_400_000_000_000,
            1_764_000_000_123_456_789,
        ] {
            let expected = DateTime::from_timestamp_nanos(nanos as i64);
            assert_eq!(to_datetime(nanos), expected, "{nanos}");
        }
    }

    #[test]
    fn timestamps_track_the_system_clock() {
        let (id, ts) = id_and_timestamp();
        let sys = Utc::now();
        assert!((sys - ts).num_milliseconds().abs() < 50, "{ts} vs {sys}");
        let ms = id.get_timestamp().map(|t| t.to_unix()).unwrap();
        assert_eq!(ms.0 as i64, ts.timestamp());
    }
}
