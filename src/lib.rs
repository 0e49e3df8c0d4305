//! gpudock: a terminal dashboard for GPU machines that run their work in Docker.
//!
//! Layout: `docker` and `gpu` hold the collectors (they own all I/O and send plain data as
//! `msg::Msg`), `app` owns the state and turns messages into state changes and commands, `ui`
//! draws from the state, `run` wires them to the terminal.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod docker;
pub mod exec;
pub mod gpu;
pub mod logging;
pub mod msg;
pub mod procfs;
pub mod run;
pub mod snapshot;
pub mod tui;
pub mod ui;
