//! Which GPUs a container was given or asks for, and Docker's wire format for it: decoded from
//! what `docker inspect` shows and encoded for a create request, in one place.
//!
//! Three ways exist on NVIDIA hosts: `--gpus` (HostConfig.DeviceRequests), CDI device requests
//! (`--device nvidia.com/gpu=…`), and the `nvidia` runtime reading `NVIDIA_VISIBLE_DEVICES` from
//! the container's environment (CUDA images set it to `all`).

use std::collections::HashMap;
use std::fmt;

use bollard::models::DeviceRequest;

/// A GPU named by the user: an index, a `GPU-<uuid>`, or anything else (MIG ids, `MIG-…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuRef {
    Index(u32),
    Uuid(String),
    Other(String),
}

impl GpuRef {
    pub fn parse(s: &str) -> GpuRef {
        let s = s.trim();
        if let Ok(i) = s.parse::<u32>() {
            GpuRef::Index(i)
        } else if s.starts_with("GPU-") {
            GpuRef::Uuid(s.to_string())
        } else {
            GpuRef::Other(s.to_string())
        }
    }
}

impl GpuRef {
    /// As the engine needs it: whole UUIDs (Display shortens them).
    pub fn wire(&self) -> String {
        match self {
            GpuRef::Index(i) => i.to_string(),
            GpuRef::Uuid(u) | GpuRef::Other(u) => u.clone(),
        }
    }
}

impl fmt::Display for GpuRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuRef::Index(i) => write!(f, "{i}"),
            // A whole UUID is too wide for a table cell; its first group identifies it in practice.
            GpuRef::Uuid(u) => write!(f, "{}", u.get(..12).unwrap_or(u)),
            GpuRef::Other(o) => f.write_str(o),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GpuRequest {
    #[default]
    None,
    All,
    /// `--gpus N`: the engine hands out indices 0..N, not "N free GPUs".
    Count(u32),
    Devices(Vec<GpuRef>),
}

impl GpuRequest {
    pub fn is_none(&self) -> bool {
        matches!(self, GpuRequest::None) || matches!(self, GpuRequest::Devices(d) if d.is_empty())
    }

    /// Indices of the GPUs this request covers, given the host's GPUs as (index, uuid).
    /// Unknown when the request names GPUs the host does not have or the GPU list is unknown.
    /// A count is never expanded past the GPUs present: any docker user can create a container
    /// with `--gpus 4294967295`. The list may name a GPU more than once (its MIG instances
    /// follow it under its index); each GPU counts once.
    pub fn indices(&self, gpus: &[(u32, &str)]) -> Option<Vec<u32>> {
        let mut out = match self {
            GpuRequest::None => Some(Vec::new()),
            GpuRequest::All | GpuRequest::Count(_) if gpus.is_empty() => None,
            GpuRequest::All => Some(gpus.iter().map(|g| g.0).collect()),
            GpuRequest::Count(n) => Some(gpus.iter().map(|g| g.0).filter(|i| i < n).collect()),
            GpuRequest::Devices(refs) => refs
                .iter()
                .map(|r| match r {
                    GpuRef::Index(i) => Some(*i),
                    GpuRef::Uuid(u) => gpus.iter().find(|g| g.1 == u).map(|g| g.0),
                    // A MIG device (`MIG-<uuid>`) resolves to its parent when the list has it.
                    GpuRef::Other(o) => gpus.iter().find(|g| g.1 == o).map(|g| g.0),
                })
                .collect(),
        }?;
        let mut seen = std::collections::HashSet::new();
        out.retain(|i| seen.insert(*i));
        Some(out)
    }

    /// The GPUS column, in the dashboard and in `snapshot`: the request as written ("all", "2",
    /// "0,3"), or, when the container asked for none but its processes sit on GPUs anyway
    /// (privileged, devices mounted by hand), those GPUs marked "*" ("1,3*"). None: no GPU.
    pub fn label(&self, used: &[u32]) -> Option<String> {
        if !self.is_none() {
            return Some(self.to_string());
        }
        let list: Vec<String> = used.iter().map(ToString::to_string).collect();
        (!list.is_empty()).then(|| format!("{}*", list.join(",")))
    }

    /// Whether GPU `index` (with `uuid`) is one this request gives the container.
    pub fn covers(&self, index: u32, uuid: &str) -> bool {
        match self {
            GpuRequest::None => false,
            GpuRequest::All => true,
            GpuRequest::Count(n) => index < *n,
            GpuRequest::Devices(refs) => refs.iter().any(|r| match r {
                GpuRef::Index(i) => *i == index,
                GpuRef::Uuid(u) => u == uuid,
                GpuRef::Other(_) => false,
            }),
        }
    }

    fn from_list(value: &str) -> GpuRequest {
        match value.trim() {
            "" | "none" | "void" => GpuRequest::None,
            "all" => GpuRequest::All,
            list => GpuRequest::Devices(
                list.split(',').filter(|s| !s.trim().is_empty()).map(GpuRef::parse).collect(),
            ),
        }
    }
}

impl fmt::Display for GpuRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuRequest::None => f.write_str("none"),
            GpuRequest::All => f.write_str("all"),
            GpuRequest::Count(n) => write!(f, "{n}"),
            GpuRequest::Devices(d) => {
                let parts: Vec<String> = d.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// `--gpus` as the docker CLI encodes it into `HostConfig.DeviceRequests`.
pub fn encode(gpus: &GpuRequest) -> Option<Vec<DeviceRequest>> {
    let gpu = |count: i64, ids: Option<Vec<String>>| DeviceRequest {
        driver: Some(String::new()),
        count: Some(count),
        device_ids: ids,
        capabilities: Some(vec![vec!["gpu".to_string()]]),
        options: Some(HashMap::new()),
    };
    match gpus {
        GpuRequest::None => None,
        GpuRequest::All => Some(vec![gpu(-1, None)]),
        GpuRequest::Count(n) => Some(vec![gpu(i64::from(*n), None)]),
        GpuRequest::Devices(refs) => Some(vec![gpu(0, Some(refs.iter().map(GpuRef::wire).collect()))]),
    }
}

/// Works out the GPU request from inspect data: device requests first, then the nvidia runtime.
pub fn decode(requests: &[DeviceRequest], runtime: Option<&str>, env: &[String]) -> GpuRequest {
    let mut devices = Vec::new();
    for req in requests {
        let driver = req.driver.as_deref().unwrap_or("");
        let ids = req.device_ids.as_deref().unwrap_or(&[]);
        if driver == "cdi" {
            for id in ids {
                let Some(which) = id.strip_prefix("nvidia.com/gpu=") else { continue };
                if which == "all" {
                    return GpuRequest::All;
                }
                devices.push(GpuRef::parse(which));
            }
            continue;
        }
        let wants_gpu = driver == "nvidia" || req.capabilities.iter().flatten().flatten().any(|c| c == "gpu");
        if !wants_gpu {
            continue;
        }
        let count = req.count.unwrap_or(0);
        if !ids.is_empty() {
            devices.extend(ids.iter().map(|d| GpuRef::parse(d)));
        } else if count < 0 {
            return GpuRequest::All;
        } else if count > 0 {
            return GpuRequest::Count(u32::try_from(count).unwrap_or(u32::MAX));
        }
    }
    if !devices.is_empty() {
        return GpuRequest::Devices(devices);
    }
    if runtime == Some("nvidia") {
        let visible = env.iter().find_map(|e| e.strip_prefix("NVIDIA_VISIBLE_DEVICES="));
        return visible.map(GpuRequest::from_list).unwrap_or(GpuRequest::None);
    }
    GpuRequest::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_req(count: i64, ids: &[&str]) -> DeviceRequest {
        DeviceRequest {
            driver: Some(String::new()),
            count: Some(count),
            device_ids: Some(ids.iter().map(|s| s.to_string()).collect()),
            capabilities: Some(vec![vec!["gpu".into()]]),
            options: None,
        }
    }

    #[test]
    fn gpus_flag_forms() {
        assert_eq!(decode(&[gpu_req(-1, &[])], None, &[]), GpuRequest::All);
        assert_eq!(decode(&[gpu_req(2, &[])], None, &[]), GpuRequest::Count(2));
        assert_eq!(
            decode(&[gpu_req(0, &["0", "2"])], None, &[]),
            GpuRequest::Devices(vec![GpuRef::Index(0), GpuRef::Index(2)])
        );
        let uuid = "GPU-11111111-2222-3333-4444-555555555555";
        assert_eq!(
            decode(&[gpu_req(0, &[uuid])], None, &[]),
            GpuRequest::Devices(vec![GpuRef::Uuid(uuid.into())])
        );
        // Compose writes the driver name and may leave capabilities out.
        let compose = DeviceRequest { driver: Some("nvidia".into()), count: Some(-1), ..Default::default() };
        assert_eq!(decode(&[compose], None, &[]), GpuRequest::All);
        // A device request for something else is not a GPU.
        let other = DeviceRequest {
            capabilities: Some(vec![vec!["tpu".into()]]),
            count: Some(-1),
            ..Default::default()
        };
        assert_eq!(decode(&[other], None, &[]), GpuRequest::None);
    }

    #[test]
    fn cdi_forms() {
        let cdi = |ids: &[&str]| DeviceRequest {
            driver: Some("cdi".into()),
            device_ids: Some(ids.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(decode(&[cdi(&["nvidia.com/gpu=all"])], None, &[]), GpuRequest::All);
        assert_eq!(
            decode(&[cdi(&["nvidia.com/gpu=0", "nvidia.com/gpu=3"])], None, &[]),
            GpuRequest::Devices(vec![GpuRef::Index(0), GpuRef::Index(3)])
        );
        assert_eq!(decode(&[cdi(&["vendor.com/fpga=0"])], None, &[]), GpuRequest::None);
    }

    #[test]
    fn nvidia_runtime_env_forms() {
        let env = |v: &str| vec!["PATH=/bin".to_string(), format!("NVIDIA_VISIBLE_DEVICES={v}")];
        assert_eq!(decode(&[], Some("nvidia"), &env("all")), GpuRequest::All);
        assert_eq!(decode(&[], Some("nvidia"), &env("none")), GpuRequest::None);
        assert_eq!(decode(&[], Some("nvidia"), &env("void")), GpuRequest::None);
        assert_eq!(
            decode(&[], Some("nvidia"), &env("1,GPU-abc,MIG-GPU-x/1/0")),
            GpuRequest::Devices(vec![
                GpuRef::Index(1),
                GpuRef::Uuid("GPU-abc".into()),
                GpuRef::Other("MIG-GPU-x/1/0".into())
            ])
        );
        assert_eq!(decode(&[], Some("nvidia"), &[]), GpuRequest::None);
        // runc ignores the variable: a CUDA image under runc gets no GPU.
        assert_eq!(decode(&[], Some("runc"), &env("all")), GpuRequest::None);
    }

    #[test]
    fn encode_and_decode_round_trip() {
        let uuid = "GPU-11111111-2222-3333-4444-555555555555";
        for req in [
            GpuRequest::None,
            GpuRequest::All,
            GpuRequest::Count(2),
            GpuRequest::Devices(vec![GpuRef::Index(0), GpuRef::Index(2)]),
            GpuRequest::Devices(vec![GpuRef::Uuid(uuid.into())]),
        ] {
            let wire = encode(&req).unwrap_or_default();
            assert_eq!(decode(&wire, None, &[]), req, "{wire:?}");
        }
    }

    #[test]
    fn the_gpus_column_shows_requests_or_gpus_used_without_asking() {
        assert_eq!(GpuRequest::All.label(&[0, 1]), Some("all".into()));
        assert_eq!(GpuRequest::None.label(&[1, 3]), Some("1,3*".into()));
        assert_eq!(GpuRequest::None.label(&[]), None);
    }

    #[test]
    fn covers_indices_and_uuids() {
        let uuid = "GPU-11111111-2222-3333-4444-555555555555";
        let d = GpuRequest::Devices(vec![GpuRef::Uuid(uuid.into()), GpuRef::Index(0)]);
        assert!(d.covers(0, "GPU-other") && d.covers(3, uuid) && !d.covers(1, "GPU-other"));
        assert!(GpuRequest::Count(2).covers(1, "") && !GpuRequest::Count(2).covers(2, ""));
        assert!(GpuRequest::All.covers(7, "") && !GpuRequest::None.covers(0, ""));
    }

    #[test]
    fn resolves_indices_and_displays() {
        let gpus = [(0, "GPU-a"), (1, "GPU-b"), (2, "GPU-c")];
        assert_eq!(GpuRequest::All.indices(&gpus), Some(vec![0, 1, 2]));
        assert_eq!(GpuRequest::All.indices(&[]), None);
        assert_eq!(GpuRequest::Count(2).indices(&gpus), Some(vec![0, 1]));
        // Absurd counts name the GPUs there are, without building a list of four billion.
        assert_eq!(GpuRequest::Count(u32::MAX).indices(&gpus), Some(vec![0, 1, 2]));
        assert_eq!(GpuRequest::Count(u32::MAX).to_string(), "4294967295");
        assert_eq!(GpuRequest::Count(u32::MAX).indices(&[]), None);
        let d = GpuRequest::Devices(vec![GpuRef::Uuid("GPU-c".into()), GpuRef::Index(0)]);
        assert_eq!(d.indices(&gpus), Some(vec![2, 0]));
        assert_eq!(d.to_string(), "GPU-c,0");
        assert_eq!(GpuRequest::Count(2).to_string(), "2");
    }
}
