//! CPU time, for the metrics that judge what a call costs in CPU rather
//! than in wall time: the process's (every thread, to catch a spinning
//! second core) and the calling thread's (the work a caller does per call,
//! apart from waiting on a server).

use std::time::Duration;

use nix::time::{ClockId, clock_gettime};

/// The CPU time every thread of this process has used so far (user and
/// system), in nanoseconds' resolution.
pub fn process() -> Duration {
    read(ClockId::CLOCK_PROCESS_CPUTIME_ID)
}

/// The CPU time the calling thread has used so far (user and system).
pub fn thread() -> Duration {
    read(ClockId::CLOCK_THREAD_CPUTIME_ID)
}

/// The clock's reading; zero where the system refuses it (no Linux system
/// does for these two clocks).
fn read(clock: ClockId) -> Duration {
    clock_gettime(clock).map_or(Duration::ZERO, Duration::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_counts_its_work() {
        let before = thread();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let used = thread() - before;
        assert!(used >= Duration::from_millis(10), "used {used:?}");
        assert!(process() >= used);
    }

    #[test]
    fn a_sleeping_thread_does_not() {
        let before = thread();
        std::thread::sleep(Duration::from_millis(30));
        assert!(thread() - before < Duration::from_millis(10));
    }
}
