//! Engine error messages → what went wrong and what to do next.

/// Explains a failure to create or start a GPU container. `driver_cuda` is the CUDA version
/// the host driver supports, when NVML knows it.
pub fn launch_error(message: &str, driver_cuda: Option<&str>) -> String {
    let m = message.trim();
    if m.contains("could not select device driver") {
        return format!(
            "No NVIDIA device driver is registered in dockerd, so GPUs cannot be given to containers. \
             Install the NVIDIA Container Toolkit (nvidia-container-toolkit), run \
             `sudo nvidia-ctk runtime configure --runtime=docker`, then restart dockerd \
             (`sudo systemctl restart docker`). Engine said: {m}"
        );
    }
    if m.contains("unknown or invalid runtime name") {
        return format!(
            "The engine has no `nvidia` runtime: /etc/docker/daemon.json lacks it. Run \
             `sudo nvidia-ctk runtime configure --runtime=docker` and restart dockerd. Engine said: {m}"
        );
    }
    if let Some(need) = required_cuda(m) {
        let have = driver_cuda.map(|v| format!("CUDA {v}")).unwrap_or_else(|| "an older CUDA".into());
        return format!(
            "The image needs CUDA {need} but the host driver supports {have}: pick an image tag built for \
             {have} or older, or update the NVIDIA driver. Engine said: {m}"
        );
    }
    if m.contains("is already in use by container") {
        return format!("That container name is taken: pick another name. Engine said: {m}");
    }
    if m.contains("No such image") {
        return format!("The image is not on this node and could not be pulled. Engine said: {m}");
    }
    m.to_string()
}

/// `unsatisfied condition: cuda>=12.8` → "12.8".
fn required_cuda(m: &str) -> Option<&str> {
    let rest = &m[m.find("cuda>=")? + "cuda>=".len()..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|v| !v.is_empty())
}

/// Explains a failed pull.
pub fn pull_error(image: &str, message: &str) -> String {
    let m = message.trim();
    let lower = m.to_lowercase();
    let why =
        if lower.contains("pull access denied") || lower.contains("unauthorized") || lower.contains("denied")
        {
            "access denied: the repository does not exist or needs `docker login`"
        } else if lower.contains("manifest unknown") || lower.contains("not found") {
            "not found: check the image name and tag (CUDA tags are full, like 12.9.1-base-ubuntu24.04)"
        } else if lower.contains("dial tcp")
            || lower.contains("lookup ")
            || lower.contains("timeout")
            || lower.contains("connection refused")
            || lower.contains("no such host")
            || lower.contains("network is unreachable")
        {
            "the registry is unreachable from this node (no network, proxy or DNS problem)"
        } else {
            "the pull failed"
        };
    format!("Cannot pull {image}: {why}. Engine said: {m}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_the_known_gpu_failures() {
        let e = launch_error(
            "failed to create task for container: could not select device driver \"\" with capabilities: [[gpu]]",
            None,
        );
        assert!(e.contains("NVIDIA Container Toolkit") && e.contains("nvidia-ctk runtime configure"), "{e}");
        let e = launch_error("Error response from daemon: unknown or invalid runtime name: nvidia", None);
        assert!(e.contains("daemon.json"), "{e}");
        let e = launch_error(
            "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.8, please update your driver",
            Some("12.4"),
        );
        assert!(e.contains("CUDA 12.8") && e.contains("CUDA 12.4") && e.contains("older"), "{e}");
        assert_eq!(launch_error("something else", None), "something else");
    }

    #[test]
    fn explains_pull_failures() {
        let denied = pull_error(
            "x/y:1",
            "pull access denied for x/y, repository does not exist or may require 'docker login'",
        );
        assert!(denied.contains("access denied"), "{denied}");
        let offline = pull_error(
            "nvidia/cuda:12.9.1-base-ubuntu24.04",
            "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host",
        );
        assert!(offline.contains("unreachable"), "{offline}");
        let missing =
            pull_error("nvidia/cuda:12-base", "manifest for nvidia/cuda:12-base not found: manifest unknown");
        assert!(missing.contains("not found"), "{missing}");
    }
}
