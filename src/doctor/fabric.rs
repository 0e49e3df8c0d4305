//! The doctor's DGX fabric checks: each GPU's Fabric Manager state and NVLinks (judged by
//! `gpu::fabric`, the same judgement the TUI shows) and the `nvidia-fabricmanager` unit.
//! Nothing at all on GPUs where NVML answers NOT_SUPPORTED (PCIe parts, older drivers).

use std::time::Duration;

use super::checks::{Check, Finding, Level};
use crate::gpu::GpuSample;
use crate::gpu::fabric::{self, FabricProblem, Severity};

/// How long `systemctl is-active` may take before the unit counts as not checked.
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(3);

/// What systemd says of the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    Active,
    /// `inactive`, `failed`, `activating`…: systemctl's word (a missing unit reads `inactive`).
    NotActive(String),
    /// No systemctl, or it did not answer in time: not a failure.
    NotChecked(String),
}

/// The fabric as the doctor reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FabricFacts {
    /// Some GPU reports Fabric Manager state (an NVSwitch system).
    pub fabric_reported: bool,
    /// GPUs that report NVLinks, and their links up / present.
    pub nvlink: Vec<(u32, usize, usize)>,
    /// Each GPU's problems, GPUs without any left out.
    pub problems: Vec<(u32, Vec<FabricProblem>)>,
    /// None where the unit was not asked about (no fabric reported, or another machine).
    pub manager: Option<Service>,
}

pub fn facts(gpus: &[GpuSample], manager: Option<Service>) -> FabricFacts {
    FabricFacts {
        fabric_reported: gpus.iter().any(|g| g.fabric.is_some()),
        nvlink: gpus
            .iter()
            .filter_map(|g| g.nvlink.as_ref().map(|l| (g.index, l.up(), l.present())))
            .collect(),
        problems: gpus
            .iter()
            .map(|g| (g.index, fabric::problems(g, gpus)))
            .filter(|(_, p)| !p.is_empty())
            .collect(),
        manager,
    }
}

/// `systemctl is-active nvidia-fabricmanager`, bounded in time and output.
pub async fn fabric_manager() -> Service {
    let mut cmd = tokio::process::Command::new("systemctl");
    cmd.args(["is-active", "nvidia-fabricmanager"]).kill_on_drop(true).stdin(std::process::Stdio::null());
    match tokio::time::timeout(SYSTEMCTL_TIMEOUT, cmd.output()).await {
        Err(_) => Service::NotChecked("systemctl did not answer in 3 s".into()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Service::NotChecked("no systemctl on this machine".into())
        }
        Ok(Err(e)) => Service::NotChecked(format!("systemctl: {e}")),
        Ok(Ok(out)) => {
            let word: String = String::from_utf8_lossy(&out.stdout)
                .trim()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect();
            if out.status.success() && word == "active" {
                Service::Active
            } else if word.is_empty() {
                Service::NotChecked("systemctl gave no answer".into())
            } else {
                Service::NotActive(word)
            }
        }
    }
}

fn fix(driver: Option<&str>) -> String {
    let branch = driver.and_then(|d| d.split('.').next()).filter(|b| !b.is_empty());
    let package = branch
        .map_or("nvidia-fabricmanager-<driver branch>".to_string(), |b| format!("nvidia-fabricmanager-{b}"));
    format!(
        "sudo systemctl enable --now nvidia-fabricmanager; its version must match the driver's{} \
         (package {package}); then journalctl -u nvidia-fabricmanager",
        driver.map_or(String::new(), |d| format!(" ({d})"))
    )
}

/// The fabric findings; none where no GPU reports fabric info or NVLinks.
pub fn check(f: &FabricFacts, driver: Option<&str>) -> Vec<Finding> {
    if !f.fabric_reported && f.nvlink.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    // The same reason on many GPUs is one line: "GPU 0-7: Fabric Manager has not finished…".
    let mut by_reason: Vec<(Severity, String, Vec<u32>)> = Vec::new();
    for (gpu, problems) in &f.problems {
        for p in problems {
            let (sev, reason) = (p.severity(), p.reason());
            match by_reason.iter_mut().find(|(_, r, _)| *r == reason) {
                Some((_, _, gpus)) => gpus.push(*gpu),
                None => by_reason.push((sev, reason, vec![*gpu])),
            }
        }
    }
    let broken = by_reason.iter().any(|(s, _, _)| *s == Severity::Broken);
    if by_reason.is_empty() {
        let links: usize = f.nvlink.iter().map(|(_, up, _)| up).sum();
        let mut words = Vec::new();
        if f.fabric_reported {
            words.push("fabric completed".to_string());
        }
        if !f.nvlink.is_empty() {
            words.push(format!("{links} NVLinks up on {} GPUs", f.nvlink.len()));
        }
        out.push(Finding { check: Check::Fabric, level: Level::Ok, detail: words.join(", "), fix: None });
    } else {
        let detail: Vec<String> =
            by_reason.iter().map(|(_, reason, gpus)| format!("{}: {reason}", gpu_list(gpus))).collect();
        let fix = if broken {
            fix(driver)
        } else {
            "drain multi-GPU jobs from these GPUs and check the links (nvidia-smi nvlink -s, nvidia-smi nvlink -e); \
             a link that stays down needs a GPU reset or service"
                .to_string()
        };
        out.push(Finding {
            check: Check::Fabric,
            level: if broken { Level::Fail } else { Level::Warn },
            detail: detail.join("; "),
            fix: Some(fix),
        });
    }
    if f.fabric_reported {
        out.push(match &f.manager {
            Some(Service::Active) => Finding {
                check: Check::FabricManager,
                level: Level::Ok,
                detail: "nvidia-fabricmanager is active".into(),
                fix: None,
            },
            Some(Service::NotActive(word)) => Finding {
                check: Check::FabricManager,
                level: Level::Fail,
                detail: format!("nvidia-fabricmanager is {word}: NVSwitch GPUs cannot join the fabric"),
                fix: Some(fix(driver)),
            },
            Some(Service::NotChecked(why)) => Finding {
                check: Check::FabricManager,
                level: Level::Ok,
                detail: format!("not checked: {why}"),
                fix: None,
            },
            None => return out,
        });
    }
    out
}

/// "GPU 3", "GPUs 0-7", "GPUs 1,4".
fn gpu_list(gpus: &[u32]) -> String {
    let contiguous = gpus.windows(2).all(|w| w[1] == w[0] + 1);
    match gpus {
        [one] => format!("GPU {one}"),
        [first, .., last] if contiguous => format!("GPUs {first}-{last}"),
        _ => format!("GPUs {}", gpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
    }
}
