//! The `xids` part of `gpudock snapshot`: XIDs from before this run. A one-shot run cannot wait
//! on NVML's XID events, and the driver keeps no history, so what it knows of past XIDs is this
//! boot's kernel log, when it can read it; where it cannot, they are unknown, and it says so
//! rather than implying "none".

use serde::Serialize;

use crate::gpu::kernel_xid::{KernelLog, gpu_at};
use crate::gpu::xid_catalog;

/// Where to look for XIDs the snapshot cannot see.
pub const ELSEWHERE: &str = "the dashboard's alert list (A), gpudock export's gpudock_gpu_last_xid, or \
                             `journalctl -k | grep -i xid` as root";

#[derive(Debug, Clone, Serialize)]
pub struct XidsDoc {
    /// Where they were read: "journalctl -k" or "dmesg"; null when the kernel log could not be.
    pub source: Option<&'static str>,
    /// This boot's XIDs, oldest first; null when the kernel log could not be read: XIDs before
    /// this run are then unknown, not absent.
    pub events: Option<Vec<XidEventDoc>>,
    /// More XID lines than `events` holds (the first 256 are kept).
    pub truncated: bool,
    /// What this covers, or why it is unknown, and where else to look.
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct XidEventDoc {
    /// As the kernel log printed it (ISO 8601); null for a raw dmesg line.
    pub time: Option<String>,
    /// `00000000:3B:00`: domain, bus and device.
    pub pci_bus_id: String,
    /// The GPU at that bus; null when no GPU of this sample is there.
    pub gpu: Option<u32>,
    pub code: u64,
    /// From the catalogue (`assets/xid.toml`); null for a code it does not list.
    pub meaning: Option<String>,
    /// none, restart_app, reset_gpu, reboot_node or drain; null for a code the catalogue lacks.
    pub action: Option<&'static str>,
    /// Whether it makes its GPU broken (the state model's rule).
    pub breaks_gpu: bool,
    /// The driver's words after the code.
    pub text: String,
}

/// `log` read next to a sample whose GPUs sit at `buses` (index, NVML bus ID).
pub fn doc(log: &KernelLog, buses: &[(u32, &str)]) -> XidsDoc {
    match log {
        KernelLog::Read { source, xids, truncated } => XidsDoc {
            source: Some(source.as_str()),
            events: Some(
                xids.iter()
                    .map(|x| {
                        let entry = xid_catalog::lookup(x.code);
                        XidEventDoc {
                            time: x.time.clone(),
                            pci_bus_id: x.bus.clone(),
                            gpu: gpu_at(&x.bus, buses.iter().copied()),
                            code: x.code,
                            meaning: entry.map(|e| e.meaning.clone()),
                            action: entry.map(|e| e.action.as_str()),
                            breaks_gpu: xid_catalog::breaks_gpu(x.code),
                            text: x.text.clone(),
                        }
                    })
                    .collect(),
            ),
            truncated: *truncated,
            note: format!(
                "this boot's XIDs from the kernel log ({}); a fatal one counts until the node reboots (a GPU \
                 reset does not clear the log)",
                source.as_str()
            ),
        },
        KernelLog::Unreadable(why) => {
            let why: Vec<String> = why.iter().map(ToString::to_string).collect();
            XidsDoc {
                source: None,
                events: None,
                truncated: false,
                note: format!(
                    "one-shot: XIDs before this run are not visible (kernel log unreadable: {}); see {ELSEWHERE}",
                    why.join("; ")
                ),
            }
        }
    }
}

/// The text snapshot's line about them.
pub fn text(d: &XidsDoc) -> String {
    let Some(events) = &d.events else { return format!("XIDs: unknown. {}", d.note) };
    if events.is_empty() {
        return format!("XIDs: none in the kernel log this boot ({})", d.source.unwrap_or("?"));
    }
    let mut out = format!("XIDs this boot ({}):", d.source.unwrap_or("?"));
    for e in events {
        let gpu = e.gpu.map_or_else(|| format!("PCI {}", e.pci_bus_id), |g| format!("GPU {g}"));
        out.push_str(&format!(
            "\n    {} {gpu} XID {}{}",
            e.time.as_deref().unwrap_or("-"),
            e.code,
            xid_catalog::describe(e.code)
        ));
    }
    if d.truncated {
        out.push_str("\n    … more XID lines than shown");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::kernel_xid::{KernelXid, ReadError, Source};

    #[test]
    fn an_unreadable_log_is_unknown_never_none() {
        let log =
            KernelLog::Unreadable(vec![ReadError::NothingVisible("journalctl"), ReadError::Exit("dmesg", 1)]);
        let d = doc(&log, &[]);
        let json = serde_json::to_value(&d).unwrap_or_default();
        assert!(json["events"].is_null() && json["source"].is_null(), "{json}");
        let note = json["note"].as_str().unwrap_or_default();
        assert!(note.starts_with("one-shot: XIDs before this run are not visible"), "{note}");
        assert!(note.contains("journalctl -k | grep -i xid"), "{note}");
        assert!(text(&d).starts_with("XIDs: unknown."), "{}", text(&d));
    }

    #[test]
    fn read_xids_name_their_gpu_and_action() {
        let x = KernelXid {
            time: Some("2026-12-06T03:12:44+0000".into()),
            bus: "00000000:3B:00".into(),
            code: 79,
            text: "GPU has fallen off the bus.".into(),
        };
        let log = KernelLog::Read { source: Source::Journal, xids: vec![x], truncated: false };
        let d = doc(&log, &[(0, "00000000:1A:00.0"), (3, "00000000:3B:00.0")]);
        let json = serde_json::to_value(&d).unwrap_or_default();
        let e = &json["events"][0];
        assert_eq!(
            (e["gpu"].as_u64(), e["action"].as_str(), e["breaks_gpu"].as_bool()),
            (Some(3), Some("reboot_node"), Some(true))
        );
        assert_eq!(json["source"], "journalctl -k");
        let t = text(&d);
        assert!(t.contains("GPU 3 XID 79 (GPU has fallen off the bus; reboot the node)"), "{t}");
        let none = doc(&KernelLog::Read { source: Source::Dmesg, xids: vec![], truncated: false }, &[]);
        assert_eq!(text(&none), "XIDs: none in the kernel log this boot (dmesg)");
    }
}
