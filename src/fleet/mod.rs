//! The fleet view's engine side: a Prometheus HTTP API client, the PromQL it runs, and a collector
//! that turns the answers into plain `FleetSnapshot`s. Like `docker/` and `gpu/` it never sees the
//! app: it sends `FleetEvent`s over a channel and takes the node on screen from a watch channel.

pub mod client;
pub mod collector;
pub mod merge;
pub mod model;
pub mod prom;
pub mod queries;

pub use client::{PromClient, PromError};
pub use collector::{FleetCollector, History, refresh_once, refresh_with};
pub use model::{ContainerRow, FleetEvent, FleetSnapshot, GpuRow, NodeDetail, NodeSummary, OwnerRow, Source};
