//! The busy node the benches share: `n` containers of the usual kinds, one in seven exited.

use gpudock::docker::gpus::GpuRequest;
use gpudock::docker::{Container, ContainerId, ContainerState};

pub const NOW: i64 = 1_795_958_337;

pub fn id(n: usize) -> ContainerId {
    ContainerId::new(format!("{n:064x}"))
}

/// Containers 0..n; `gpus` says what each asked for.
pub fn containers(n: usize, gpus: impl Fn(usize) -> GpuRequest) -> Vec<Container> {
    (0..n)
        .map(|i| Container {
            id: id(i),
            name: format!("job-{i:04}-{}", ["train", "eval", "notebook", "serve"][i % 4]),
            image: ["nvcr.io/nvidia/pytorch:25.01-py3", "nvidia/cuda:12.9.1-base-ubuntu24.04"][i % 2].into(),
            state: if i % 7 == 0 { ContainerState::Exited } else { ContainerState::Running },
            created: NOW - 86_400,
            started_at: Some(NOW - (i as i64) * 61),
            finished_at: None,
            exit_code: None,
            health: None,
            pid: Some(10_000 + i as u32),
            gpus: gpus(i),
            launched_by: None,
            owner: Default::default(),
            pending: false,
            published: Vec::new(),
            host_network: false,
        })
        .collect()
}
