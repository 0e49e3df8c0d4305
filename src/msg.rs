//! The one message type that background work and the terminal send to the app, and the commands
//! the app asks to be carried out.

use std::collections::HashMap;
use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::docker::{Container, ContainerStats, EngineInfo};
use crate::gpu::GpuSnapshot;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal changed size; the next frame lays itself out anew.
    Resize(u16, u16),
    Engine(EngineMsg),
    Gpu(GpuMsg),
    /// SIGTERM / SIGHUP: leave as cleanly as on `q`.
    Quit,
}

#[derive(Debug, Clone)]
pub enum EngineMsg {
    Connecting {
        host: String,
    },
    Connected(Box<EngineInfo>),
    Down {
        host: String,
        reason: String,
        retry_in: Duration,
        attempt: u32,
    },
    /// Every container the engine has, in the engine's order (the app sorts).
    Containers(Vec<Container>),
    /// CPU/memory of running containers, keyed by full ID; `at` is Unix seconds.
    Stats {
        at: i64,
        stats: HashMap<String, ContainerStats>,
    },
}

#[derive(Debug, Clone)]
pub enum GpuMsg {
    /// No NVML (no driver, no library, init failed): the panel says why.
    Unavailable {
        reason: String,
        retry_in: Duration,
    },
    Snapshot(GpuSnapshot),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
}
