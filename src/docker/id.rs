//! Engine identifiers: a container's ID and the short form people read.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// A container's full ID (64 hex digits on Docker), as the engine gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(transparent)]
pub struct ContainerId(String);

impl ContainerId {
    pub fn new(id: impl Into<String>) -> ContainerId {
        ContainerId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 12 digits `docker ps` shows.
    pub fn short(&self) -> &str {
        short_id(&self.0)
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads as the ID text wherever a `&str` is wanted (lookups, formatting, the engine's calls).
impl Deref for ContainerId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ContainerId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ContainerId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ContainerId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl From<String> for ContainerId {
    fn from(s: String) -> ContainerId {
        ContainerId(s)
    }
}

impl From<&str> for ContainerId {
    fn from(s: &str) -> ContainerId {
        ContainerId(s.to_string())
    }
}

/// First 12 hex digits of any engine ID (container, image, cache record), without the
/// `sha256:` prefix, like the docker CLI.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

/// The engine's API version, as negotiated ("1.41" on Docker 20.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let mut parts = s.trim().trim_start_matches('v').split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(ApiVersion { major, minor })
    }

    /// Whether this is at least 1.`minor`.
    pub fn at_least(self, minor: u32) -> bool {
        (self.major, self.minor) >= (1, minor)
    }
}

impl From<bollard::ClientVersion> for ApiVersion {
    fn from(v: bollard::ClientVersion) -> ApiVersion {
        ApiVersion {
            major: u32::try_from(v.major_version).unwrap_or(1),
            minor: u32::try_from(v.minor_version).unwrap_or(0),
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(ContainerId::new("f".repeat(64)).short(), "ffffffffffff");
    }

    #[test]
    fn api_versions() {
        let v = |s| ApiVersion::parse(s);
        assert!(v("1.42").is_some_and(|v| v.at_least(42)));
        assert!(v("1.53").is_some_and(|v| v.at_least(42)));
        assert!(v("2.0").is_some_and(|v| v.at_least(42)));
        assert!(v("1.41").is_some_and(|v| !v.at_least(42)));
        assert_eq!(v(""), None);
        assert_eq!(v("x"), None);
        assert_eq!(v("1.41").map(|v| v.to_string()).as_deref(), Some("1.41"));
    }
}
