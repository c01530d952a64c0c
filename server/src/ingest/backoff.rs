//! Reconnect back-off shared by every exchange connection: jittered exponential, 250 ms
//! doubling to 30 s, back to the start once a connection had been healthy.

use std::time::Duration;

use rand::Rng;

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The next wait before reconnecting.
#[derive(Debug)]
pub struct Backoff {
    current: Duration,
}

impl Backoff {
    pub fn new() -> Self {
        Self { current: BACKOFF_MIN }
    }

    /// The connection had been live: the next failure starts from the minimum again.
    pub fn reset(&mut self) {
        self.current = BACKOFF_MIN;
    }

    /// How long to wait now (50–100 % of the current step, so many clients do not reconnect
    /// in lockstep); the step doubles for the next time, up to the maximum.
    pub fn next_wait(&mut self) -> Duration {
        let jittered = self.current.mul_f64(rand::rng().random_range(0.5..1.0));
        self.current = (self.current * 2).min(BACKOFF_MAX);
        jittered
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_with_jitter_and_reset() {
        let mut b = Backoff::new();
        let waits: Vec<Duration> = (0..10).map(|_| b.next_wait()).collect();
        assert!(waits[0] >= BACKOFF_MIN / 2 && waits[0] < BACKOFF_MIN);
        assert!(waits[3] >= BACKOFF_MIN * 4 && waits[3] < BACKOFF_MIN * 8);
        assert!(waits.iter().all(|w| *w < BACKOFF_MAX));
        assert!(waits[9] >= BACKOFF_MAX / 2);
        b.reset();
        assert!(b.next_wait() < BACKOFF_MIN);
    }
}
