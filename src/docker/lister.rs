//! The container list with an inspect cache, shared by the collector and `snapshot`.

use std::collections::{HashMap, HashSet};

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::ListContainersOptionsBuilder;
use futures_util::{StreamExt, stream};

use super::model::Container;
use super::{EngineError, convert};

/// The container list with an inspect cache: a container is inspected again only when an event
/// named it or its state changed, so a refresh of 500 containers is one listing call.
#[derive(Default)]
pub struct Lister {
    inspected: HashMap<String, ContainerInspectResponse>,
    touched: HashSet<String>,
    current: Vec<Container>,
}

impl Lister {
    /// An event named this container: inspect it again at the next refresh.
    pub fn touch(&mut self, id: String) {
        self.touched.insert(id);
    }

    /// The list as of the last refresh.
    pub fn current(&self) -> &[Container] {
        &self.current
    }

    pub async fn refresh(&mut self, docker: &bollard::Docker) -> Result<Vec<Container>, EngineError> {
        let summaries =
            docker.list_containers(Some(ListContainersOptionsBuilder::default().all(true).build())).await?;
        let prev_state: HashMap<&str, _> = self.current.iter().map(|c| (c.id.as_str(), c.state)).collect();
        let stale: Vec<String> = summaries
            .iter()
            .filter_map(|s| Some((s.id.clone()?, convert::summary_state(s))))
            .filter(|(id, state)| {
                !self.inspected.contains_key(id)
                    || self.touched.contains(id)
                    || prev_state.get(id.as_str()) != Some(state)
            })
            .map(|(id, _)| id)
            .collect();
        self.touched.clear();
        let fresh: Vec<(String, Result<ContainerInspectResponse, bollard::errors::Error>)> =
            stream::iter(stale)
                .map(|id| async move {
                    let r = docker.inspect_container(&id, None).await;
                    (id, r)
                })
                .buffer_unordered(16)
                .collect()
                .await;
        for (id, res) in fresh {
            match res {
                Ok(i) => {
                    self.inspected.insert(id, i);
                }
                // Removed between the listing and the inspect: the next event drops it.
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let live: HashSet<&str> = summaries.iter().filter_map(|s| s.id.as_deref()).collect();
        self.inspected.retain(|id, _| live.contains(id.as_str()));
        self.current = summaries
            .iter()
            .filter_map(|s| {
                let inspect = self.inspected.get(s.id.as_deref()?)?;
                Some(convert::container(s, inspect))
            })
            .collect();
        Ok(self.current.clone())
    }
}
