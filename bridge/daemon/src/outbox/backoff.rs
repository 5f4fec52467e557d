//! The retry schedule: exponential backoff with jitter, capped; deliveries give up by age.

use std::time::Duration;

use rand::Rng;

/// When to try a failed delivery (or a down endpoint) again, when to tell its author it is
/// delayed, and when to give up.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule {
    /// The wait after the first failure.
    pub initial: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// ±fraction of randomness on each wait, so retries of many deliveries spread out.
    pub jitter: f64,
    /// A delivery still pending this long after it was committed fails for good (at the next
    /// failed attempt to its endpoint).
    pub give_up_after: Duration,
    /// A delivery pending this long has its author told, once, that it is delayed; `None`: never.
    pub delay_warning_after: Option<Duration>,
}

impl RetrySchedule {
    /// The wait before the next attempt, after `failures` failed attempts (≥ 1).
    pub fn delay(&self, failures: u32, rng: &mut impl Rng) -> Duration {
        let exp = failures.saturating_sub(1).min(32);
        let base = self.initial.as_secs_f64() * 2f64.powi(exp as i32);
        let capped = base.min(self.max.as_secs_f64());
        let j = self.jitter.clamp(0.0, 1.0);
        let factor = if j > 0.0 { rng.random_range(1.0 - j..=1.0 + j) } else { 1.0 };
        Duration::from_secs_f64((capped * factor).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(jitter: f64) -> RetrySchedule {
        RetrySchedule {
            initial: Duration::from_secs(2),
            max: Duration::from_secs(60),
            jitter,
            give_up_after: Duration::from_secs(3600),
            delay_warning_after: None,
        }
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let mut rng = rand::rng();
        let s = schedule(0.0);
        let waits: Vec<u64> = (1..=7).map(|n| s.delay(n, &mut rng).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 60, 60]);
        assert!(s.delay(u32::MAX, &mut rng) <= Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let mut rng = rand::rng();
        let s = schedule(0.2);
        for _ in 0..1000 {
            let d = s.delay(3, &mut rng).as_secs_f64();
            assert!((6.4..=9.6).contains(&d), "{d}");
        }
    }
}
