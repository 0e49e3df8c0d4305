//! Checks of launch-form input, done before anything reaches the engine. Each returns the
//! parsed value or a message that names what is wrong and what would be right.

use crate::docker::gpus::{GpuRef, GpuRequest};

/// `[registry[:port]/]path[:tag][@sha256:hex]`, the grammar of docker's reference package.
pub fn image_reference(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("an image is required, e.g. nvidia/cuda:12.9.1-base-ubuntu24.04".into());
    }
    let bad = |why: &str| Err(format!("{s:?} is not a valid image reference: {why}"));
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else { return bad("digest must be algorithm:hex") };
        if algo.is_empty() || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad("digest must be like sha256:<64 hex digits>");
        }
    }
    // A colon after the last slash starts the tag; one before it is a registry port.
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].find(':') {
        Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
        None => (name_tag, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return bad("a tag is letters, digits, '_', '.', '-' (at most 128)");
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (h, port) = host.split_once(':').unwrap_or((host, ""));
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c)) {
            return bad("the registry host is malformed");
        }
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return bad("the registry port is not a number");
        }
    }
    for part in &parts {
        if !path_component(part) {
            return bad("names are lowercase letters and digits, separated by '.', '_', '__' or '-'");
        }
    }
    Ok(s.to_string())
}

fn path_component(p: &str) -> bool {
    let b = p.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
        return false;
    }
    if !(b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit()) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            i += 1;
            continue;
        }
        // Separators: '.', '_', '__', or any run of '-'.
        let start = i;
        while i < b.len() && !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
            i += 1;
        }
        let sep = &p[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

/// What `--gpus` accepts: all, none, a count, `device=` or a bare list of indices / UUIDs.
/// `gpus` is the host's (index, uuid) list from NVML, or None when NVML is unavailable (then
/// indices cannot be checked).
pub fn gpus(s: &str, host: Option<&[(u32, &str)]>) -> Result<GpuRequest, String> {
    let s = s.trim();
    let list = s.strip_prefix("device=").unwrap_or(s).trim_matches('"');
    // The list names MIG instances under their parent's index too: GPUs are the distinct indices.
    let whole = host.map(|h| GpuRequest::All.indices(h).map_or(0, |ix| ix.len()));
    let req = match list {
        "" | "none" => return Ok(GpuRequest::None),
        "all" => return Ok(GpuRequest::All),
        n if n.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with("device=") && !n.contains(',') => {
            let count: u32 = n.parse().map_err(|_| format!("{n} is too many GPUs"))?;
            if count == 0 {
                return Err("0 GPUs: leave the field empty or write none".into());
            }
            if let Some(n) = whole
                && count as usize > n
            {
                return Err(format!("{count} GPUs asked for, this host has {n}"));
            }
            GpuRequest::Count(count)
        }
        list => {
            let refs: Vec<GpuRef> = list.split(',').map(GpuRef::parse).collect();
            for r in &refs {
                match (r, host) {
                    (GpuRef::Other(o), _) if o.is_empty() => return Err("empty GPU in the list".into()),
                    (GpuRef::Other(o), _) if !o.starts_with("MIG-") => {
                        return Err(format!("{o:?} is not a GPU index, GPU-<uuid> or MIG-<uuid>"));
                    }
                    (GpuRef::Index(i), Some(h)) if !h.iter().any(|g| g.0 == *i) => {
                        return Err(format!(
                            "there is no GPU {i}: this host has GPUs 0-{}",
                            whole.unwrap_or(0).saturating_sub(1)
                        ));
                    }
                    (GpuRef::Uuid(u), Some(h)) if !h.iter().any(|g| g.1 == u) => {
                        return Err(format!("no GPU has UUID {u}"));
                    }
                    _ => {}
                }
            }
            GpuRequest::Devices(refs)
        }
    };
    Ok(req)
}

/// `free:N` → Some(Ok(N)); anything else → None.
pub fn free_count(s: &str) -> Option<Result<u32, String>> {
    let n = s.trim().strip_prefix("free:")?;
    Some(match n.trim().parse::<u32>() {
        Ok(0) | Err(_) => Err(format!("{s:?}: write free:N with N a number of GPUs from 1, e.g. free:1")),
        Ok(n) => Ok(n),
    })
}

fn var_name(k: &str) -> bool {
    k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `KEY=VALUE,KEY2=VALUE2`. A value may hold commas: a comma not followed by `NAME=` continues
/// the value, so `NVIDIA_VISIBLE_DEVICES=0,1` is one variable.
pub fn env(s: &str) -> Result<Vec<String>, String> {
    let starts_item = |part: &str| part.trim_start().split_once('=').is_some_and(|(k, _)| var_name(k));
    join_continuations(s, starts_item)
        .into_iter()
        .map(|item| {
            let (k, _) = item.split_once('=').ok_or_else(|| format!("{item:?} is not KEY=VALUE"))?;
            if !var_name(k) {
                return Err(format!("{k:?} is not a valid variable name"));
            }
            Ok(item)
        })
        .collect()
}

/// Splits a comma list where a part that does not start a new item (`starts_item`) belongs to
/// the item before it.
fn join_continuations(s: &str, starts_item: impl Fn(&str) -> bool) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for part in s.split(',') {
        match items.last_mut() {
            Some(last) if !starts_item(part) => {
                last.push(',');
                last.push_str(part);
            }
            _ => items.push(part.to_string()),
        }
    }
    items
        .into_iter()
        .map(|i| i.trim().trim_end_matches(',').trim().to_string())
        .filter(|i| !i.is_empty())
        .collect()
}

/// Mount options `docker run -v` accepts after the second colon, comma-separated.
const VOLUME_OPTIONS: [&str; 13] = [
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "shared",
    "slave",
    "private",
    "rshared",
    "rslave",
    "rprivate",
    "consistent",
    "delegated",
];

/// `host:container[:options],…`; host is an absolute path or a volume name; options as
/// `docker run -v` takes them (`ro,z`, `rshared`, `nocopy`, …).
pub fn volumes(s: &str) -> Result<Vec<String>, String> {
    // A part without a colon is another option of the mount before it: `/d:/d:ro,z`.
    join_continuations(s, |part| part.contains(':'))
        .into_iter()
        .map(|item| {
            let parts: Vec<&str> = item.split(':').collect();
            let shape = || format!("{item:?} is not host:container[:ro]");
            let (host, dest, mode) = match parts.as_slice() {
                [h, d] => (*h, *d, None),
                [h, d, m] => (*h, *d, Some(*m)),
                _ => return Err(shape()),
            };
            let (host, dest) = (host.trim(), dest.trim());
            if host.is_empty() || !dest.starts_with('/') {
                return Err(format!("{item:?}: the container side must be an absolute path"));
            }
            if !host.starts_with('/') && !host.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                return Err(format!("{item:?}: the host side must be an absolute path or a volume name"));
            }
            if let Some(m) = mode
                && let Some(bad) = m.split(',').find(|o| !VOLUME_OPTIONS.contains(&o.trim()))
            {
                return Err(format!(
                    "{item:?}: {bad:?} is not a mount option (ro, rw, z, Z, nocopy, rshared, rslave, …)"
                ));
            }
            Ok(item)
        })
        .collect()
}

/// Docker's container name grammar: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`. Empty means "let the
/// engine pick one".
pub fn name(s: &str, taken: &[&str]) -> Result<Option<String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let ok = s.len() >= 2
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        return Err(format!(
            "{s:?}: a name is 2+ letters, digits, '_', '.', '-', starting with a letter or digit"
        ));
    }
    if taken.contains(&s) {
        return Err(format!("a container named {s} already exists"));
    }
    Ok(Some(s.to_string()))
}

/// `8g`, `512m`, `65536k` or plain bytes.
pub fn size(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Ok(None);
    }
    let num = s.trim_end_matches(['b', 'k', 'm', 'g']);
    let unit = &s[num.len()..];
    let mult: i64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(format!("{s:?}: write a size like 8g or 512m")),
    };
    let n: i64 = num.parse().map_err(|_| format!("{s:?}: write a size like 8g or 512m"))?;
    n.checked_mul(mult).filter(|b| *b > 0).map(Some).ok_or_else(|| format!("{s:?} is out of range"))
}

/// Compares dotted versions numerically: "12.10" > "12.9".
pub fn version_newer(needed: &str, have: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    parse(needed) > parse(have)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for ok in [
            "busybox",
            "nvidia/cuda:12.9.1-base-ubuntu24.04",
            "nvcr.io/nvidia/pytorch:25.01-py3",
            "localhost:5000/my_team/img__x:v1",
            "registry.example.com:443/a/b/c",
            "gpudock-test/busybox:latest",
            "ubuntu@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(image_reference(ok).is_ok(), "{ok}");
        }
        for bad in
            ["", "Nvidia/cuda", "cuda:", "cuda:-x", "a//b", "img:tag with space", "-x", "x-", "a@sha256:zz"]
        {
            assert!(image_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gpu_specs() {
        let host = [(0, "GPU-a"), (1, "GPU-b")];
        assert_eq!(gpus("all", Some(&host)), Ok(GpuRequest::All));
        assert_eq!(gpus("", Some(&host)), Ok(GpuRequest::None));
        assert_eq!(gpus("2", Some(&host)), Ok(GpuRequest::Count(2)));
        assert!(gpus("3", Some(&host)).is_err_and(|e| e.contains("has 2")));
        // MIG instances listed under their parent are not GPUs of their own.
        let mig = [(0, "GPU-a"), (0, "MIG-x"), (0, "MIG-y"), (0, "MIG-z")];
        assert!(gpus("2", Some(&mig)).is_err_and(|e| e.contains("this host has 1")));
        assert!(gpus("3", Some(&mig)).is_err_and(|e| e.contains("has 1")));
        assert_eq!(
            gpus("0,1", Some(&host)),
            Ok(GpuRequest::Devices(vec![GpuRef::Index(0), GpuRef::Index(1)]))
        );
        assert_eq!(gpus("device=1", Some(&host)), Ok(GpuRequest::Devices(vec![GpuRef::Index(1)])));
        assert!(gpus("0,7", Some(&host)).is_err_and(|e| e.contains("no GPU 7")));
        assert!(gpus("GPU-zzz", Some(&host)).is_err());
        assert!(gpus("GPU-b", Some(&host)).is_ok());
        assert!(gpus("banana", None).is_err());
        assert!(gpus("0", None).is_err(), "0 is a count of zero");
        // Without NVML the indices cannot be checked, but the syntax still is.
        assert!(gpus("5,6", None).is_ok());
    }

    #[test]
    fn env_volume_name_size() {
        assert_eq!(env("A=1, B_2=x=y"), Ok(vec!["A=1".into(), "B_2=x=y".into()]));
        assert!(env("NOEQUALS").is_err());
        assert!(env("1A=x").is_err());
        assert_eq!(
            volumes("/data:/data:ro, cache:/root/.cache"),
            Ok(vec!["/data:/data:ro".into(), "cache:/root/.cache".into()])
        );
        assert!(volumes("/data").is_err());
        assert!(volumes("/a:rel").is_err());
        assert!(volumes("/a:/b:rx").is_err());
        // Values and mount options with commas, as `docker run` takes them.
        assert_eq!(
            env("NVIDIA_VISIBLE_DEVICES=0,1,NCCL_DEBUG=INFO"),
            Ok(vec!["NVIDIA_VISIBLE_DEVICES=0,1".into(), "NCCL_DEBUG=INFO".into()])
        );
        assert_eq!(env("ARGS=--a,--b"), Ok(vec!["ARGS=--a,--b".into()]));
        assert_eq!(
            volumes("/data:/data:ro,z, /scratch:/scratch:rshared,nocopy,models:/models:Z"),
            Ok(vec![
                "/data:/data:ro,z".into(),
                "/scratch:/scratch:rshared,nocopy".into(),
                "models:/models:Z".into()
            ])
        );
        assert!(volumes("/a:/b:ro,bogus").is_err());
        assert_eq!(name("", &[]), Ok(None));
        assert_eq!(name("train-1", &[]), Ok(Some("train-1".into())));
        assert!(name("x", &[]).is_err());
        assert!(name("-x", &[]).is_err());
        assert!(name("has space", &[]).is_err());
        assert!(name("busy", &["busy"]).is_err_and(|e| e.contains("already exists")));
        assert_eq!(size("8g"), Ok(Some(8 << 30)));
        assert_eq!(size("512M"), Ok(Some(512 << 20)));
        assert_eq!(size(""), Ok(None));
        assert!(size("lots").is_err());
        assert!(version_newer("13.0", "12.4"));
        assert!(version_newer("12.10", "12.9"));
        assert!(!version_newer("12.4", "12.4"));
    }
}
