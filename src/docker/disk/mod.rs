//! The engine side of "reclaim disk space": what stopped containers, unused images, build cache
//! and unused volumes cost (`usage`), pruning one kind at a time (`prune`), and the image list
//! with per-image removal (`images`, `remove_image`).
//!
//! Safety rules every function here keeps: nothing is ever forced, so the engine refuses to
//! remove a running container or an image a container (running or not) uses; named volumes go
//! only when asked for; an "all unused images" prune that would strip tags from an image a
//! container uses is done image by image instead (see `prune`).

mod df;
mod exact;
mod images;
mod model;
mod prune;
mod usage;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use df::{ANONYMOUS_LABEL, parse_df};
pub use exact::prune_items;
pub use images::{images, remove_image};
pub use model::{
    Category, CategoryUsage, DiskItem, DiskUsage, FsUsage, ImageRow, PruneOptions, PruneReport, VolumeKind,
    human_size, short_id,
};
pub use prune::prune;
pub use usage::{statvfs, usage};

use super::EngineError;
use super::convert::parse_time;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiskError {
    /// Unreachable engine, timeout, permissions.
    #[error("{0}")]
    Engine(EngineError),
    #[error("a prune is already running on the engine; try again when it has finished")]
    PruneRunning,
    #[error("the engine is already computing disk usage; try again in a moment")]
    UsageRunning,
    #[error("image {image} is used by {}", users(.containers))]
    ImageInUse { image: String, containers: Vec<String> },
    /// Any other refusal (HTTP 409), in the engine's words.
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("cannot read the engine's disk usage: {0}")]
    BadAnswer(String),
    #[error("until {0:?} is neither a duration like 24h or 7d, a date, nor Unix seconds")]
    BadUntil(String),
    #[error("until {0:?} is before 1970 or in the future, which limits nothing")]
    UntilOutOfRange(String),
    #[error("build cache records carry no labels, so a label cannot limit that prune")]
    LabelUnsupported,
}

fn users(containers: &[String]) -> String {
    match containers {
        [] => "a container".to_string(),
        [one] => format!("container {one}"),
        [a, b, c, d, rest @ ..] if !rest.is_empty() => {
            format!("containers {a}, {b}, {c}, {d} and {} more", rest.len())
        }
        many => format!("containers {}", many.join(", ")),
    }
}

impl DiskError {
    /// The engine's refusals in words a person can act on; `what` names the thing acted on.
    pub(crate) fn from_engine(err: impl Into<EngineError>, what: &str) -> DiskError {
        let err = err.into();
        let message = err.message().unwrap_or("");
        if message.contains("prune operation is already running") {
            return DiskError::PruneRunning;
        }
        // Engines before 23.0 refuse a second concurrent `/system/df` (HTTP 500).
        if message.contains("disk usage operation is already") {
            return DiskError::UsageRunning;
        }
        match err.status() {
            Some(409) => match user_of(message) {
                Some(container) => {
                    DiskError::ImageInUse { image: what.to_string(), containers: vec![container] }
                }
                None => DiskError::Conflict(message.to_string()),
            },
            Some(404) => DiskError::NotFound(what.to_string()),
            _ => DiskError::Engine(err),
        }
    }
}

/// The container named in the engine's "image is being used by running container 0123abcd" or
/// "container 0123abcd is using its referenced image" conflicts.
fn user_of(message: &str) -> Option<String> {
    if !message.contains("being used by") && !message.contains("is using its referenced image") {
        return None;
    }
    let after = message.split("container ").nth(1)?;
    let id = after.split(|c: char| !c.is_ascii_alphanumeric()).next()?;
    (!id.is_empty()).then(|| id.to_string())
}

/// The instant an `until` value names, in Unix seconds: "24h", "7d" and the like before `now`,
/// an RFC 3339 time, or Unix seconds.
pub fn cutoff(until: &str, now: i64) -> Result<i64, DiskError> {
    let s = until.trim();
    let bad = || DiskError::BadUntil(until.to_string());
    let at = if let Ok(secs) = s.parse::<i64>() {
        secs
    } else if let Ok(d) = humantime::parse_duration(s) {
        i64::try_from(d.as_secs()).ok().and_then(|d| now.checked_sub(d)).ok_or_else(bad)?
    } else {
        parse_time(Some(s)).ok_or_else(bad)?
    };
    // Before 1970 or far ahead limits nothing, and an engine reads a negative cutoff as
    // "everything": refuse rather than prune more than the user meant. A day ahead allows for
    // the engine's clock.
    if !(0..=now.saturating_add(86_400)).contains(&at) {
        return Err(DiskError::UntilOutOfRange(until.to_string()));
    }
    Ok(at)
}

/// The engine refuses a second prune of the same kind while one runs, and engines before 23.0 a
/// second `/system/df`; both are usually over in moments, so wait up to this long before saying so.
const BUSY_WAIT: Duration = Duration::from_millis(250);
const BUSY_TRIES: u32 = 40;

pub(crate) async fn patiently<T, F, Fut>(mut call: F) -> Result<T, DiskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DiskError>>,
{
    let mut tries = 1;
    loop {
        match call().await {
            Err(DiskError::PruneRunning | DiskError::UsageRunning) if tries < BUSY_TRIES => {
                tries += 1;
                tokio::time::sleep(BUSY_WAIT).await;
            }
            done => return done,
        }
    }
}
