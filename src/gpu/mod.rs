//! GPUs: which a container was given (`request`) and which container a GPU process lives in
//! (`owner`).

pub mod owner;
pub mod request;
