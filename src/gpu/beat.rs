//! When `gpudock export` samples the GPUs: on a beat matched to the scrapes, just before each one is
//! due, rather than every `--refresh`. Prometheus scrapes every 15 s or so; sampling every second
//! in between cost 15 samples for every one anybody read. The beat is learned from the scrapes
//! themselves (their interval and phase), so a scrape still never waits on the driver, and its
//! figures are at most `LEAD` old.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Sample this long before the next scrape is due.
const LEAD_MS: u64 = 1_000;
/// With nobody scraping (or before the first scrape), sample this often: idle-held times and
/// XIDs keep being tracked, at little cost.
const UNSCRAPED_MS: u64 = 15_000;
/// Scrape intervals outside this range are not a beat to follow.
const MIN_INTERVAL_MS: u64 = 1_000;
const MAX_INTERVAL_MS: u64 = 300_000;

/// Scrape times, shared by the HTTP side (which notes them) and the sampler thread.
#[derive(Debug)]
pub struct Beat {
    start: Instant,
    /// Milliseconds since `start` of the last scrape, + 1 (0: none yet).
    last: AtomicU64,
    /// The last interval between two scrapes, ms (0: unknown).
    interval: AtomicU64,
    /// Never sample more often than this (`--refresh`), ms.
    floor: u64,
}

impl Beat {
    pub fn new(floor: Duration) -> Beat {
        Beat {
            start: Instant::now(),
            last: AtomicU64::new(0),
            interval: AtomicU64::new(0),
            floor: u64::try_from(floor.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A scrape of `/metrics` was answered now.
    pub fn note_scrape(&self) {
        self.note_at(self.now_ms());
    }

    fn note_at(&self, now: u64) {
        let now = now + 1;
        let last = self.last.swap(now, Ordering::Relaxed);
        if last > 0 {
            let gap = now.saturating_sub(last);
            // Two Prometheus servers, or a person with curl, in between: keep the beat.
            if (MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&gap) {
                self.interval.store(gap, Ordering::Relaxed);
            }
        }
    }

    /// How long the sampler sleeps before its next sample.
    pub fn wait(&self) -> Duration {
        let last = self.last.load(Ordering::Relaxed);
        let scrape = (last > 0).then(|| last - 1);
        Duration::from_millis(next_wait(
            self.now_ms(),
            scrape,
            self.interval.load(Ordering::Relaxed),
            self.floor,
        ))
    }
}

/// Milliseconds until the next sample, at `now`, given the last scrape and the interval between
/// scrapes (0: unknown): just before the next scrape is due, never sooner than `floor`, and every
/// `UNSCRAPED_MS` while nobody scrapes.
pub fn next_wait(now: u64, last_scrape: Option<u64>, interval: u64, floor: u64) -> u64 {
    let unscraped = UNSCRAPED_MS.max(floor);
    let Some(last) = last_scrape else { return unscraped };
    if interval == 0 || now.saturating_sub(last) > 3 * interval {
        return unscraped;
    }
    let lead = LEAD_MS.min(interval / 4);
    // The first due time (last + k * interval - lead) that is at least `floor` away.
    let mut due = last + interval - lead;
    while due < now + floor {
        due += interval;
    }
    due - now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_just_before_each_scrape_and_slowly_without_one() {
        // Nobody scraped yet: every 15 s (or the refresh, if slower).
        assert_eq!(next_wait(0, None, 0, 1_000), 15_000);
        assert_eq!(next_wait(0, None, 0, 60_000), 60_000);
        // One scrape, no interval yet: still the slow beat.
        assert_eq!(next_wait(500, Some(0), 0, 1_000), 15_000);
        // Every 15 s, last at 0: sample at 14 s, then at 29 s.
        assert_eq!(next_wait(100, Some(0), 15_000, 1_000), 13_900);
        assert_eq!(next_wait(14_000, Some(0), 15_000, 1_000), 15_000, "just sampled at 14 s: next at 29 s");
        // A fast scrape interval never drives sampling faster than the refresh.
        assert_eq!(next_wait(0, Some(0), 2_000, 1_000), 1_500);
        assert_eq!(next_wait(1_500, Some(0), 2_000, 1_000), 2_000);
        // Scraping stopped: back to the slow beat.
        assert_eq!(next_wait(60_000, Some(0), 15_000, 1_000), 15_000);
    }

    #[test]
    fn the_beat_follows_the_scrapes() {
        let b = Beat::new(Duration::from_secs(1));
        assert_eq!(b.wait(), Duration::from_millis(15_000));
        b.note_at(10_000);
        b.note_at(10_050); // a person with curl: not a scrape interval
        assert_eq!(b.interval.load(Ordering::Relaxed), 0);
        b.note_at(25_050);
        assert_eq!(b.interval.load(Ordering::Relaxed), 15_000);
        b.note_at(25_100);
        assert_eq!(b.interval.load(Ordering::Relaxed), 15_000, "kept");
        assert_eq!(b.last.load(Ordering::Relaxed), 25_101);
    }
}
