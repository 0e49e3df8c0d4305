//! One beat for every sampler: each one samples on wall-clock multiples of the refresh period,
//! so the Docker and GPU samples land together and cost the screen one redraw, not two.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time left until the next multiple of `period` since the Unix epoch.
pub fn until_next_tick(period: Duration) -> Duration {
    let period_ns = period.as_nanos().max(1);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let left = period_ns - now % period_ns;
    Duration::from_nanos(u64::try_from(left).unwrap_or(0))
}

/// Seconds since the Unix epoch: the timestamp every sample carries.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A tokio interval that fires on the shared beat.
pub fn interval(period: Duration) -> tokio::time::Interval {
    let start = tokio::time::Instant::now() + until_next_tick(period);
    let mut i = tokio::time::interval_at(start, period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tick_is_within_one_period() {
        let p = Duration::from_millis(700);
        let d = until_next_tick(p);
        assert!(d > Duration::ZERO && d <= p, "{d:?}");
    }
}
