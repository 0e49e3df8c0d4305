//! A launch spec as the `docker run` command line that creates the same container: what
//! `gpudock run --dry-run` prints and what the launch form can show as its preview. Pure.

use super::gpus::{GpuRef, GpuRequest};
use super::model::LaunchSpec;

/// `--gpus` as the docker CLI parses it: a device list holds commas, which its CSV parser
/// splits unless the value is in double quotes (`--gpus '"device=0,2"'`).
pub fn gpus_flag(gpus: &GpuRequest) -> Option<String> {
    match gpus {
        GpuRequest::None => None,
        GpuRequest::All => Some("all".into()),
        GpuRequest::Count(n) => Some(n.to_string()),
        GpuRequest::Devices(refs) if refs.is_empty() => None,
        GpuRequest::Devices(refs) => {
            let ids: Vec<String> = refs.iter().map(GpuRef::wire).collect();
            let list = format!("device={}", ids.join(","));
            Some(if ids.len() > 1 { format!("\"{list}\"") } else { list })
        }
    }
}

/// The argument vector, `docker` first. `detach`: `-d` (print the ID) instead of attaching.
pub fn argv(spec: &LaunchSpec, detach: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["docker".into(), "run".into()];
    let mut push = |flag: &str, value: &str| {
        a.push(flag.into());
        a.push(value.into());
    };
    if let Some(name) = &spec.name {
        push("--name", name);
    }
    if let Some(g) = gpus_flag(&spec.gpus) {
        push("--gpus", &g);
    }
    for e in &spec.env {
        push("-e", e);
    }
    for v in &spec.binds {
        push("-v", v);
    }
    for p in &spec.ports {
        push("-p", &p.to_string());
    }
    if spec.ipc_host {
        push("--ipc", "host");
    }
    if let Some(bytes) = spec.shm_size {
        // Bytes: the CLI reads a plain number as bytes, so the size is exact.
        push("--shm-size", &bytes.to_string());
    }
    if let Some(n) = &spec.network {
        push("--network", n);
    }
    if let Some(w) = &spec.workdir {
        push("-w", w);
    }
    for (k, v) in &spec.labels {
        push("--label", &format!("{k}={v}"));
    }
    if spec.auto_remove {
        a.push("--rm".into());
    }
    if detach {
        a.push("-d".into());
    }
    a.push(spec.image.clone());
    a.extend(spec.cmd.iter().cloned());
    a
}

/// The argument vector as one POSIX shell line, each word single-quoted where it needs it.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// A word as the shell reads back unchanged: bare when it holds only characters no shell
/// treats specially, else in single quotes (a quote inside written `'\''`).
fn quote(w: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !w.is_empty() && w.chars().all(plain) {
        return std::borrow::Cow::Borrowed(w);
    }
    std::borrow::Cow::Owned(format!("'{}'", w.replace('\'', "'\\''")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::ports;

    #[test]
    fn every_setting_becomes_its_flag_and_survives_the_shell() {
        let spec = LaunchSpec {
            image: "nvcr.io/nvidia/pytorch:25.01-py3".into(),
            cmd: vec!["sh".into(), "-c".into(), "echo it's $HOME".into()],
            name: Some("train-1".into()),
            gpus: GpuRequest::Devices(vec![GpuRef::Index(0), GpuRef::Index(2)]),
            auto_remove: true,
            env: vec!["NCCL_DEBUG=INFO".into(), "ARGS=--a b".into()],
            binds: vec!["/data:/data:ro".into()],
            ipc_host: true,
            shm_size: Some(8 << 30),
            network: Some("host".into()),
            workdir: Some("/work".into()),
            labels: vec![("io.gpudock.launched-by".into(), "alice".into())],
            ports: ports::parse_all(&["127.0.0.1:8888:8888"]).unwrap_or_default(),
            // The provisional pick is what the line shows.
            free: Some(2),
        };
        let line = shell_line(&argv(&spec, false));
        assert!(
            line.starts_with(
                "docker run --name train-1 --gpus '\"device=0,2\"' -e NCCL_DEBUG=INFO -e 'ARGS=--a b' \
             -v /data:/data:ro -p 127.0.0.1:8888:8888 --ipc host --shm-size 8589934592 --network host \
             -w /work --label io.gpudock.launched-by=alice --rm nvcr.io/nvidia/pytorch:25.01-py3 sh -c '"
            ),
            "{line}"
        );
        // The shell gives back the same words.
        assert_eq!(shell_words::split(&line).ok(), Some(argv(&spec, false)));
        assert!(
            argv(&LaunchSpec { image: "x".into(), ..Default::default() }, true)
                .ends_with(&["-d".into(), "x".into()])
        );
        assert_eq!(gpus_flag(&GpuRequest::Count(2)).as_deref(), Some("2"));
        assert_eq!(gpus_flag(&GpuRequest::Devices(vec![GpuRef::Index(3)])).as_deref(), Some("device=3"));
    }
}
