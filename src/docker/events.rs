//! The engine's container events, subscribed so that none is lost between a listing and the
//! subscription.
//!
//! bollard sends the `/events` request only when its stream is first polled, which is after the
//! first listing: a container that changed state in between would go unseen until the next
//! reconciliation. The engine replays the events it still holds from `since`, so the collector
//! reads the engine's clock before listing and subscribes from that instant.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::EventMessage;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

pub type Events = BoxStream<'static, Result<EventMessage, bollard::errors::Error>>;

/// Container events from `since` (the engine's `seconds.nanoseconds`) on.
pub fn subscribe(docker: &Docker, since: &str) -> Events {
    let mut filters = HashMap::new();
    filters.insert("type", vec!["container"]);
    docker.events(Some(EventsOptionsBuilder::default().filters(&filters).since(since).build())).boxed()
}

/// The engine's clock as `/events` wants it, from `SystemTime` of `/info` (RFC 3339 with
/// nanoseconds, in UTC or with an offset). None when the engine did not say or said something
/// else: the caller falls back to this machine's clock.
pub fn engine_clock(system_time: Option<&str>) -> Option<String> {
    let t = system_time?.trim();
    // humantime reads only UTC ("Z"); an offset is applied by hand.
    // Whatever the engine sent, not necessarily ASCII: split only where `str` allows.
    let split = t.len().checked_sub(6).and_then(|i| t.split_at_checked(i));
    let (base, offset) = match split {
        Some((base, off)) if off.starts_with(['+', '-']) && off.get(3..4) == Some(":") => {
            let hours: u64 = off.get(1..3)?.parse().ok()?;
            let minutes: u64 = off.get(4..6)?.parse().ok()?;
            (
                format!("{base}Z"),
                Some((off.starts_with('-'), Duration::from_secs(hours * 3600 + minutes * 60))),
            )
        }
        _ => (t.to_string(), None),
    };
    let local = humantime::parse_rfc3339_weak(&base).ok()?;
    // 20:00+02:00 is 18:00 UTC.
    let utc = match offset {
        Some((false, d)) => local.checked_sub(d)?,
        Some((true, d)) => local.checked_add(d)?,
        None => local,
    };
    Some(unix(utc))
}

/// This machine's clock, one second early: duplicate events only cost a listing, missed ones
/// cost 30 s of a wrong screen.
pub fn local_clock() -> String {
    unix(SystemTime::now().checked_sub(Duration::from_secs(1)).unwrap_or(UNIX_EPOCH))
}

fn unix(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_clock_in_utc_or_with_an_offset() {
        let utc = engine_clock(Some("2026-11-29T20:35:00.123456789Z"));
        assert_eq!(utc.as_deref(), Some("1795984500.123456789"));
        let ahead = engine_clock(Some("2026-11-29T22:35:00.123456789+02:00"));
        assert_eq!(ahead, utc);
        let behind = engine_clock(Some("2026-11-29T15:35:00.123456789-05:00"));
        assert_eq!(behind, utc);
        assert_eq!(engine_clock(Some("yesterday")), None);
        assert_eq!(engine_clock(Some("2026-11-29T20:35:00é+0é:00")), None);
        assert_eq!(engine_clock(Some("ééééé")), None);
        assert_eq!(engine_clock(None), None);
        assert!(local_clock().split_once('.').is_some_and(|(s, n)| s.len() >= 10 && n.len() == 9));
    }
}
