//! Engine failures as kinds the app can act on, with the words a person reads.

/// Why a request to the engine failed. `Display` is the sentence shown on screen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("socket {0} not found — is dockerd running?")]
    SocketNotFound(String),
    #[error("connection refused — is dockerd running?")]
    Refused,
    #[error("{0} — is your user in the docker group?")]
    PermissionDenied(String),
    #[error("the engine did not answer in time")]
    Timeout,
    /// The engine answered with an error status.
    #[error("{message} (HTTP {status})")]
    Status { status: u16, message: String },
    /// An answer too big, a stream message too long, or a body that did not end in time.
    #[error("{0}")]
    Overrun(crate::bounded::Overrun),
    /// Anything else the client reported (a broken stream, an unreadable answer).
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    pub fn status(&self) -> Option<u16> {
        match self {
            EngineError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The engine's own message for an error status.
    pub fn message(&self) -> Option<&str> {
        match self {
            EngineError::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

impl From<bollard::errors::Error> for EngineError {
    fn from(err: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as E;
        match err {
            // The engine's words reach the status line, snapshot and the log: one line each.
            E::DockerResponseServerError { status_code, message } => {
                EngineError::Status { status: status_code, message: crate::sanitize::own_line(message) }
            }
            E::SocketNotFoundError(path) => EngineError::SocketNotFound(path),
            E::RequestTimeoutError => EngineError::Timeout,
            other => {
                if let Some(o) = crate::bounded::Overrun::find(&other) {
                    // Found where it was: the copy kept for streams is spent too.
                    let _ = crate::bounded::Overrun::take_recent();
                    return EngineError::Overrun(o.clone());
                }
                // A stream's read error reaches us as text; the transport kept the overrun.
                if matches!(other, E::IOError { .. } | E::HyperResponseError { .. })
                    && let Some(o) = crate::bounded::Overrun::take_recent()
                {
                    return EngineError::Overrun(o);
                }
                // The HTTP client's own words ("client error (Connect)") hide the cause: the
                // innermost source says what happened ("Connection refused").
                let mut cause: &dyn std::error::Error = &other;
                while let Some(inner) = cause.source() {
                    cause = inner;
                }
                let text = crate::sanitize::own_line(cause.to_string());
                let lower = text.to_lowercase();
                if lower.contains("connection refused") {
                    EngineError::Refused
                } else if lower.contains("permission denied") {
                    EngineError::PermissionDenied(text)
                } else {
                    EngineError::Other(text)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_client_errors() {
        let e = EngineError::from(bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message: "No such container: x".into(),
        });
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "No such container: x (HTTP 404)");
        assert_eq!(EngineError::from(bollard::errors::Error::RequestTimeoutError), EngineError::Timeout);
        let forged = EngineError::from(bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "boom\ndocker: connected to tcp://trusted".into(),
        });
        assert_eq!(forged.to_string(), "boom\\ndocker: connected to tcp://trusted (HTTP 500)");
        let e = EngineError::from(bollard::errors::Error::SocketNotFoundError("/x.sock".into()));
        assert_eq!(e.to_string(), "socket /x.sock not found — is dockerd running?");
    }
}
