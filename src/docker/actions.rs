//! Container actions against the engine: stop, restart, kill, remove. Each returns a typed
//! outcome; turning it into words is the app's business.

use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use super::{ContainerId, EngineError};

/// What to do to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    /// SIGTERM, then SIGKILL after `timeout` seconds.
    Stop {
        timeout: u32,
    },
    Restart {
        timeout: u32,
    },
    /// SIGKILL, no grace period.
    Kill,
    /// `force` kills a running container first.
    Remove {
        force: bool,
    },
}

impl ContainerAction {
    /// "stop", for "stop x: …" messages.
    pub fn verb(self) -> &'static str {
        match self {
            ContainerAction::Stop { .. } => "stop",
            ContainerAction::Restart { .. } => "restart",
            ContainerAction::Kill => "kill",
            ContainerAction::Remove { .. } => "remove",
        }
    }

    /// "stopped", for "stopped x".
    pub fn past(self) -> &'static str {
        match self {
            ContainerAction::Stop { .. } => "stopped",
            ContainerAction::Restart { .. } => "restarted",
            ContainerAction::Kill => "killed",
            ContainerAction::Remove { .. } => "removed",
        }
    }

    /// How long the request may take: a stop or restart waits out the grace period first.
    fn request_timeout(self) -> Duration {
        let grace = match self {
            ContainerAction::Stop { timeout } | ContainerAction::Restart { timeout } => u64::from(timeout),
            ContainerAction::Kill | ContainerAction::Remove { .. } => 0,
        };
        Duration::from_secs(super::REQUEST_TIMEOUT_SECS + grace)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOutcome {
    Done,
    /// A stop of a container that had already stopped (HTTP 304).
    AlreadyStopped,
    /// A stop whose grace period ran out: the engine sent SIGKILL (exit 137).
    Killed {
        after_secs: u32,
    },
}

/// The exit code of a process ended by SIGKILL (128 + 9).
const SIGKILL_EXIT: i64 = 137;

pub async fn run(
    docker: &Docker,
    id: &ContainerId,
    action: ContainerAction,
) -> Result<ActionOutcome, EngineError> {
    let docker = docker.clone().with_timeout(action.request_timeout());
    let id = id.as_str();
    let res = match action {
        ContainerAction::Stop { timeout } => {
            let opts =
                StopContainerOptionsBuilder::default().t(i32::try_from(timeout).unwrap_or(i32::MAX)).build();
            docker.stop_container(id, Some(opts)).await
        }
        ContainerAction::Restart { timeout } => {
            let opts = RestartContainerOptionsBuilder::default()
                .t(i32::try_from(timeout).unwrap_or(i32::MAX))
                .build();
            docker.restart_container(id, Some(opts)).await
        }
        ContainerAction::Kill => {
            docker
                .kill_container(id, Some(KillContainerOptionsBuilder::default().signal("SIGKILL").build()))
                .await
        }
        ContainerAction::Remove { force } => {
            docker
                .remove_container(id, Some(RemoveContainerOptionsBuilder::default().force(force).build()))
                .await
        }
    };
    match res.map_err(EngineError::from) {
        // The engine answers a stop the same whether the container exited on SIGTERM or was
        // killed when the grace period ran out: its exit code tells them apart.
        Ok(()) if let ContainerAction::Stop { timeout } = action => {
            let code = match docker.inspect_container(id, None).await {
                Ok(i) => i.state.and_then(|s| s.exit_code),
                Err(_) => None,
            };
            Ok(if code == Some(SIGKILL_EXIT) {
                ActionOutcome::Killed { after_secs: timeout }
            } else {
                ActionOutcome::Done
            })
        }
        Ok(()) => Ok(ActionOutcome::Done),
        Err(e) if e.status() == Some(304) && matches!(action, ContainerAction::Stop { .. }) => {
            Ok(ActionOutcome::AlreadyStopped)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_may_take_its_grace_period_plus_a_margin() {
        // A 60 s grace period was reported as failed after the fixed 30 s request timeout.
        let stop = ContainerAction::Stop { timeout: 60 };
        assert!(stop.request_timeout() > Duration::from_secs(60));
        assert_eq!(stop.request_timeout(), Duration::from_secs(90));
        assert_eq!(ContainerAction::Restart { timeout: 600 }.request_timeout(), Duration::from_secs(630));
        assert_eq!(ContainerAction::Kill.request_timeout(), Duration::from_secs(30));
    }
}
