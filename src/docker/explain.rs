//! Engine error messages → what went wrong and what to do next. Failures are classified into
//! kinds once, here; the words come from the kind.

/// Why a launch failed, classified from the engine's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchError {
    /// Pulling the image failed.
    Pull { image: String, why: PullFailure, message: String },
    /// Creating or starting the container failed (or the engine could not be reached).
    Engine { why: LaunchFailure, message: String },
    /// The user cancelled; `removed`: the container it had created is gone again.
    Cancelled { removed: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFailure {
    Denied,
    NotFound,
    Unreachable,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchFailure {
    /// No NVIDIA device driver registered in dockerd: the toolkit is missing or dockerd was not
    /// restarted after installing it.
    NoGpuDriver,
    /// `--runtime nvidia` without that runtime in daemon.json.
    NoNvidiaRuntime,
    /// The image's `NVIDIA_REQUIRE_CUDA` is newer than the driver.
    CudaTooOld {
        needs: String,
    },
    NameTaken,
    NoSuchImage,
    /// No command typed and the image has no CMD or ENTRYPOINT.
    NoCommand,
    /// `free:N` picked again right before create, and too few GPUs are free any more: the
    /// message is the refusal (who holds what).
    NoFreeGpus,
    Other,
}

impl LaunchError {
    /// Classifies a failed create or start from the engine's message.
    pub fn engine(message: &str) -> LaunchError {
        let m = message.trim();
        let why = if m.contains("could not select device driver") {
            LaunchFailure::NoGpuDriver
        } else if m.contains("unknown or invalid runtime name") {
            LaunchFailure::NoNvidiaRuntime
        } else if let Some(need) = required_cuda(m) {
            LaunchFailure::CudaTooOld { needs: need.to_string() }
        } else if m.contains("is already in use by container") {
            LaunchFailure::NameTaken
        } else if m.contains("No such image") {
            LaunchFailure::NoSuchImage
        } else {
            LaunchFailure::Other
        };
        LaunchError::Engine { why, message: m.to_string() }
    }

    /// Classifies a failed pull from the engine's (or registry's) message.
    pub fn pull(image: &str, message: &str) -> LaunchError {
        let m = message.trim();
        let lower = m.to_lowercase();
        let why = if lower.contains("pull access denied")
            || lower.contains("unauthorized")
            || lower.contains("no basic auth credentials")
            || lower.contains("authentication required")
            || lower.contains("denied")
        {
            PullFailure::Denied
        } else if lower.contains("manifest unknown") || lower.contains("not found") {
            PullFailure::NotFound
        } else if [
            "dial tcp",
            "lookup ",
            "timeout",
            "connection refused",
            "no such host",
            "network is unreachable",
        ]
        .iter()
        .any(|w| lower.contains(w))
        {
            PullFailure::Unreachable
        } else {
            PullFailure::Other
        };
        LaunchError::Pull { image: image.to_string(), why, message: m.to_string() }
    }

    /// What went wrong and what to do. `driver_cuda` is the CUDA version the host driver
    /// supports, when NVML knows it.
    pub fn explain(&self, driver_cuda: Option<&str>) -> String {
        match self {
            LaunchError::Pull { image, why, message } => {
                let login;
                let why = match why {
                    PullFailure::Denied => {
                        let registry = super::auth::registry_of(image);
                        login = format!(
                            "access denied: the repository does not exist, or it needs a login: run `{}` \
                             (gpudock uses the docker CLI's stored logins)",
                            super::auth::login_hint(&registry)
                        );
                        login.as_str()
                    }
                    PullFailure::NotFound => {
                        "not found: check the image name and tag (CUDA tags are full, like 12.9.1-base-ubuntu24.04)"
                    }
                    PullFailure::Unreachable => {
                        "the registry is unreachable from this node (no network, proxy or DNS problem)"
                    }
                    PullFailure::Other => "the pull failed",
                };
                format!("Cannot pull {image}: {why}. Engine said: {message}")
            }
            LaunchError::Cancelled { removed: true } => {
                "launch cancelled; the container it had created was removed".into()
            }
            LaunchError::Cancelled { removed: false } => {
                "launch cancelled before anything was created".into()
            }
            LaunchError::Engine { why, message: m } => match why {
                LaunchFailure::NoGpuDriver => format!(
                    "No NVIDIA device driver is registered in dockerd, so GPUs cannot be given to containers. \
                     Install the NVIDIA Container Toolkit (nvidia-container-toolkit), run \
                     `sudo nvidia-ctk runtime configure --runtime=docker`, then restart dockerd \
                     (`sudo systemctl restart docker`). Engine said: {m}"
                ),
                LaunchFailure::NoNvidiaRuntime => format!(
                    "The engine has no `nvidia` runtime: /etc/docker/daemon.json lacks it. Run \
                     `sudo nvidia-ctk runtime configure --runtime=docker` and restart dockerd. Engine said: {m}"
                ),
                LaunchFailure::CudaTooOld { needs } => {
                    let have =
                        driver_cuda.map(|v| format!("CUDA {v}")).unwrap_or_else(|| "an older CUDA".into());
                    format!(
                        "The image needs CUDA {needs} but the host driver supports {have}: pick an image tag built \
                         for {have} or older, or update the NVIDIA driver. Engine said: {m}"
                    )
                }
                LaunchFailure::NameTaken => {
                    format!("That container name is taken: pick another name. Engine said: {m}")
                }
                LaunchFailure::NoCommand => format!(
                    "The image has no default command (no CMD or ENTRYPOINT): type the command to run. \
                     ({m})"
                ),
                LaunchFailure::NoSuchImage => {
                    format!("The image is not on this node and could not be pulled. Engine said: {m}")
                }
                LaunchFailure::NoFreeGpus => format!("{m} (picked again before create; nothing was created)"),
                LaunchFailure::Other => m.clone(),
            },
        }
    }
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.explain(None))
    }
}

impl std::error::Error for LaunchError {}

/// `unsatisfied condition: cuda>=12.8` → "12.8".
fn required_cuda(m: &str) -> Option<&str> {
    let rest = &m[m.find("cuda>=")? + "cuda>=".len()..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch_error(m: &str, cuda: Option<&str>) -> String {
        LaunchError::engine(m).explain(cuda)
    }

    fn pull_error(image: &str, m: &str) -> String {
        LaunchError::pull(image, m).explain(None)
    }

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
        assert!(denied.contains("access denied") && denied.contains("`docker login`"), "{denied}");
        let ngc = pull_error("nvcr.io/nvidia/pytorch:25.01-py3", "unauthorized: authentication required");
        assert!(ngc.contains("docker login nvcr.io") && ngc.contains("$oauthtoken"), "{ngc}");
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
