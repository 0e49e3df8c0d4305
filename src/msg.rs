//! The one message type that background work and the terminal send to the app, and the commands
//! the app asks to be carried out.

use std::collections::HashMap;
use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::docker::disk::{Category, DiskUsage, FsUsage, ImageRow, PruneOptions, PruneReport};
use crate::docker::{Container, ContainerStats, EngineInfo, LaunchSpec, LogLine};
use crate::gpu::GpuSnapshot;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// The terminal changed size; the next frame lays itself out anew.
    Resize(u16, u16),
    Engine(EngineMsg),
    Gpu(GpuMsg),
    Action(ActionMsg),
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
    /// The filesystem holding the engine's data root (local engines only).
    RootFs {
        dir: String,
        fs: FsUsage,
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

/// Results of commands the executor carried out.
#[derive(Debug, Clone)]
pub enum ActionMsg {
    Done { text: String },
    Failed { text: String },
    PullProgress { image: String, done: u64, total: u64, status: String },
    Launched { id: String, name: String },
    LaunchFailed { text: String },
    LogLines { id: String, lines: Vec<LogLine> },
    LogsEnded { id: String, reason: Option<String> },
    DiskUsage(Result<Box<DiskUsage>, String>),
    Pruned(Result<PruneReport, String>),
    Images(Result<Vec<ImageRow>, String>),
    ImageRemoved(Result<String, String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    Stop {
        id: String,
        name: String,
        timeout: u32,
    },
    Restart {
        id: String,
        name: String,
        timeout: u32,
    },
    Kill {
        id: String,
        name: String,
    },
    Remove {
        id: String,
        name: String,
        force: bool,
    },
    /// `driver_cuda` ("12.4") lets a failure say which CUDA the driver supports.
    Launch {
        spec: Box<LaunchSpec>,
        driver_cuda: Option<String>,
    },
    CancelLaunch,
    FollowLogs {
        id: String,
        tail: usize,
    },
    StopLogs,
    DiskUsage,
    Prune {
        category: Category,
        options: PruneOptions,
    },
    ListImages,
    RemoveImage {
        id: String,
        name: String,
    },
}
