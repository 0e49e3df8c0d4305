//! The container list with an inspect cache, shared by the collector and `snapshot`: a
//! container is inspected again only when an event named it or its state changed, so a refresh
//! of 500 containers is one listing call.

use std::collections::{HashMap, HashSet};

use bollard::models::ContainerSummary;
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::{StreamExt, stream};

use super::model::Container;
use super::owner::OwnerRules;
use super::{EngineError, convert};

/// Facts, not whole answers: 500 inspects held at once until the merge were megabytes.
type Inspected = Vec<(String, Result<convert::InspectFacts, EngineError>)>;

#[derive(Default)]
pub struct Lister {
    inspected: HashMap<String, convert::InspectFacts>,
    touched: HashSet<String>,
    current: Vec<Container>,
    /// Containers whose last inspect failed (not a 404): retried at the next refresh.
    failed: HashSet<String>,
    /// Inspects in flight at once; `None`: `INSPECT_IN_FLIGHT`.
    in_flight: Option<usize>,
    owners: OwnerRules,
    /// The engine shares our /proc: its init PIDs go to `membership`.
    local: bool,
}

/// Inspects in flight at once to an engine that is cheap to reach.
pub const INSPECT_IN_FLIGHT: usize = 16;

impl Lister {
    /// Few inspects at once to an engine over ssh (each connection is an ssh process).
    pub fn for_host(host: &super::DockerHost) -> Lister {
        Lister {
            in_flight: Some(host.in_flight(INSPECT_IN_FLIGHT)),
            local: host.is_local(),
            ..Lister::default()
        }
    }

    /// How owners are found (`owner_labels`; the host's accounts for a local engine).
    pub fn with_owners(mut self, owners: OwnerRules) -> Lister {
        self.owners = owners;
        self
    }

    /// An event named this container: inspect it again at the next refresh.
    pub fn touch(&mut self, id: String) {
        self.touched.insert(id);
    }

    /// The list as of the last refresh.
    pub fn current(&self) -> &[Container] {
        &self.current
    }

    /// Whether some inspect failed and waits for a retry.
    pub fn has_failures(&self) -> bool {
        !self.failed.is_empty()
    }

    pub async fn refresh(&mut self, docker: &bollard::Docker) -> Result<Vec<Container>, EngineError> {
        let summaries = self.list(docker).await?;
        self.inspect_and_merge(docker, &summaries).await
    }

    /// The engine's listing, nothing asked per container yet.
    pub async fn list(&self, docker: &bollard::Docker) -> Result<Vec<ContainerSummary>, EngineError> {
        let opts = ListContainersOptionsBuilder::default().all(true).build();
        Ok(docker.list_containers(Some(opts)).await?)
    }

    /// The list as far as the listing and the inspects already made tell it: containers not yet
    /// inspected are `pending`. For a first look while the inspects are on their way.
    pub fn preview(&self, summaries: &[ContainerSummary]) -> Vec<Container> {
        summaries
            .iter()
            .filter_map(|s| {
                Some(convert::container(s, self.inspected.get(s.id.as_deref()?), false, &self.owners))
            })
            .collect()
    }

    /// Inspects what the listing shows to be new or changed, and folds it all into the list.
    pub async fn inspect_and_merge(
        &mut self,
        docker: &bollard::Docker,
        summaries: &[ContainerSummary],
    ) -> Result<Vec<Container>, EngineError> {
        let stale = self.stale(summaries);
        let fresh: Inspected = stream::iter(stale)
            .map(|id| async move {
                let r = docker.inspect_container(&id, None).await.map(|i| convert::inspect_facts(&i));
                let r = r.map_err(EngineError::from);
                (id, r)
            })
            .buffer_unordered(self.in_flight.unwrap_or(INSPECT_IN_FLIGHT).max(1))
            .collect()
            .await;
        Ok(self.merge(summaries, fresh))
    }

    /// The containers to inspect: new ones, those an event named, those whose state moved, and
    /// those whose last inspect failed.
    fn stale(&mut self, summaries: &[ContainerSummary]) -> Vec<String> {
        let prev_state: HashMap<&str, _> = self.current.iter().map(|c| (c.id.as_str(), c.state)).collect();
        let stale = summaries
            .iter()
            .filter_map(|s| Some((s.id.clone()?, convert::summary_state(s))))
            .filter(|(id, state)| {
                !self.inspected.contains_key(id)
                    || self.touched.contains(id)
                    || self.failed.contains(id)
                    || prev_state.get(id.as_str()) != Some(state)
            })
            .map(|(id, _)| id)
            .collect();
        self.touched.clear();
        self.failed.clear();
        stale
    }

    /// Folds a listing and the inspects made after it into the list. An inspect is newer than
    /// the listing, so a container inspected just now takes its state from the inspect: the
    /// listing can still say "running" a moment after the container died.
    fn merge(&mut self, summaries: &[ContainerSummary], fresh: Inspected) -> Vec<Container> {
        let mut just_inspected = HashSet::new();
        for (id, res) in fresh {
            match res {
                Ok(i) => {
                    just_inspected.insert(id.clone());
                    self.inspected.insert(id, i);
                }
                // Removed between the listing and the inspect: the next event drops it.
                Err(e) if e.is_not_found() => {}
                // One container the engine would not describe: keep what is known of it and try
                // again, rather than ending the session for everyone.
                Err(e) => {
                    tracing::warn!(container = %id, error = %e, "inspect failed; retrying at the next refresh");
                    self.failed.insert(id);
                }
            }
        }
        let live: HashSet<&str> = summaries.iter().filter_map(|s| s.id.as_deref()).collect();
        self.inspected.retain(|id, _| live.contains(id.as_str()));
        self.current = summaries
            .iter()
            .filter_map(|s| {
                let id = s.id.as_deref()?;
                let inspect = self.inspected.get(id);
                Some(convert::container(s, inspect, just_inspected.contains(id), &self.owners))
            })
            .collect();
        if self.local {
            let inits =
                self.current.iter().filter_map(|c| Some((c.id.as_str().to_string(), c.pid?))).collect();
            super::membership::publish(inits);
        }
        self.current.clone()
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::{
        ContainerInspectResponse, ContainerState as InspectState, ContainerStateStatusEnum,
        ContainerSummaryStateEnum,
    };

    use super::*;
    use crate::docker::ContainerState;

    fn summary(id: &str, state: ContainerSummaryStateEnum) -> ContainerSummary {
        ContainerSummary {
            id: Some(id.into()),
            names: Some(vec![format!("/{id}")]),
            state: Some(state),
            ..Default::default()
        }
    }

    fn inspect(id: &str, status: ContainerStateStatusEnum, pid: i64) -> convert::InspectFacts {
        convert::inspect_facts(&ContainerInspectResponse {
            id: Some(id.into()),
            state: Some(InspectState { status: Some(status), pid: Some(pid), ..Default::default() }),
            ..Default::default()
        })
    }

    #[test]
    fn a_fresh_inspect_beats_a_stale_listing() {
        let mut l = Lister::default();
        let list = [summary("a", ContainerSummaryStateEnum::RUNNING)];
        let got = l.merge(&list, vec![("a".into(), Ok(inspect("a", ContainerStateStatusEnum::EXITED, 0)))]);
        assert_eq!(got[0].state, ContainerState::Exited);
        assert_eq!(got[0].pid, None);
        // A cached inspect does not override the listing.
        let got = l.merge(&[summary("a", ContainerSummaryStateEnum::RUNNING)], Vec::new());
        assert_eq!(got[0].state, ContainerState::Running);
    }

    #[test]
    fn one_failed_inspect_keeps_the_container_and_is_retried() {
        let mut l = Lister::default();
        let list = [
            summary("a", ContainerSummaryStateEnum::RUNNING),
            summary("b", ContainerSummaryStateEnum::RUNNING),
        ];
        l.merge(
            &list,
            vec![
                ("a".into(), Ok(inspect("a", ContainerStateStatusEnum::RUNNING, 10))),
                ("b".into(), Ok(inspect("b", ContainerStateStatusEnum::RUNNING, 11))),
            ],
        );
        l.touch("b".into());
        assert_eq!(l.stale(&list), ["b"]);
        let boom = EngineError::Status { status: 500, message: "boom".into() };
        let got = l.merge(&list, vec![("b".into(), Err(boom))]);
        assert_eq!(got.len(), 2, "the other containers stay listed");
        let b = got.iter().find(|c| c.id == "b").map(|c| c.pid);
        assert_eq!(b, Some(Some(11)), "what was known of b stays");
        assert!(l.has_failures());
        assert_eq!(l.stale(&list), ["b"], "b is inspected again, and only b");
        // A container never inspected successfully is still listed, from the listing alone.
        let mut l = Lister::default();
        let boom = EngineError::Status { status: 500, message: "boom".into() };
        let got = l.merge(&[summary("c", ContainerSummaryStateEnum::RUNNING)], vec![("c".into(), Err(boom))]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].state, ContainerState::Running);
    }
}
