//! gpudock: a terminal dashboard for GPU machines that run their work in Docker.
//!
//! Layout: `docker`, `gpu`, `procfs` and `signal` are the engine layer: they own all I/O, publish their
//! own event types and return typed outcomes, and never see the app. `msg` is the app's message
//! type made from those; `exec` carries out commands; `app` owns the state and turns messages
//! into state changes and commands; `ui` draws from the state; `run` wires them to the terminal.

pub mod app;
pub mod bounded;
pub mod cli;
pub mod clock;
pub mod config;
pub mod docker;
pub mod doctor;
pub mod exec;
pub mod export;
pub mod fleet;
pub mod fmt;
pub mod gpu;
pub mod logging;
pub mod man;
pub mod msg;
pub mod notebook;
pub mod probe;
pub mod procfs;
pub mod report;
pub mod run;
pub mod run_cmd;
pub mod run_fleet;
pub mod sanitize;
pub mod signal;
pub mod snapshot;
pub mod tui;
pub mod ui;
