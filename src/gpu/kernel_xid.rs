//! XIDs from before this run, from the kernel log's `NVRM: Xid` lines. The driver keeps no XID
//! history and NVML's event set only reports what happens while someone waits on it, so the
//! one-shot commands (`snapshot`, `doctor`) see past XIDs only here. Reading is bounded in time
//! and size and fails soft: an unreadable log makes the XIDs before this run unknown, never
//! "none".

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

/// How long one reader may take before it is killed.
const DEADLINE: Duration = Duration::from_secs(4);
/// The most of the log read: a boot's kernel log is a few MB at most.
const MAX_BYTES: u64 = 32 << 20;
/// The most XID lines kept (oldest first): a flapping GPU must not grow the report unbounded.
pub const MAX_EVENTS: usize = 256;
/// The longest piece of a line kept as its text.
const MAX_TEXT: usize = 200;

/// One `NVRM: Xid` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelXid {
    /// The line's timestamp as the reader printed it (ISO 8601), when it had one.
    pub time: Option<String>,
    /// `00000000:3B:00`: the kernel's `PCI:0000:3b:00`, in NVML's bus ID form less the function.
    pub bus: String,
    pub code: u64,
    /// What the driver said after the code, without control characters, cut to 200 chars.
    pub text: String,
}

impl KernelXid {
    /// The line's time in Unix seconds, from the ISO 8601 stamp journalctl and dmesg print
    /// (`2026-12-06T03:12:44+0000`, `2026-12-06T03:12:45,118263+00:00`); None without one.
    pub fn unix_time(&self) -> Option<i64> {
        let t = self.time.as_deref()?;
        let (civil, rest) = (t.get(..19)?, t.get(19..)?);
        let utc = humantime::parse_rfc3339_weak(civil).ok()?;
        let secs = i64::try_from(utc.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs()).ok()?;
        // After the seconds: an optional fraction, then Z or the zone's offset from UTC.
        let zone = rest.trim_start_matches(|c: char| c == ',' || c == '.' || c.is_ascii_digit());
        let offset = match zone {
            "" | "Z" => 0,
            z => {
                let sign = match z.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
                if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let (h, m): (i64, i64) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
                sign * (h * 3600 + m * 60)
            }
        };
        Some(secs - offset)
    }
}

/// Where the log was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Journal,
    Dmesg,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Journal => "journalctl -k",
            Source::Dmesg => "dmesg",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("{0} is not installed")]
    NotInstalled(&'static str),
    #[error("{0} could not start: {1}")]
    Spawn(&'static str, std::io::ErrorKind),
    #[error("{0} took longer than {1} s")]
    Timeout(&'static str, u64),
    #[error(
        "{0} exited with status {1} (not allowed to read the kernel log? dmesg needs root under kernel.dmesg_restrict)"
    )]
    Exit(&'static str, i32),
    /// journalctl prints nothing (and exits 0) for a user who may not read the system journal.
    #[error("{0} shows no kernel line (reading the journal needs root or the adm or systemd-journal group)")]
    NothingVisible(&'static str),
}

/// The log as read: its XIDs, or why neither reader could read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelLog {
    Read { source: Source, xids: Vec<KernelXid>, truncated: bool },
    Unreadable(Vec<ReadError>),
}

/// One `NVRM: Xid (PCI:0000:3b:00): 79, pid=..., GPU has fallen off the bus.` line, with or
/// without a leading timestamp; None for any other line.
pub fn parse_line(line: &str) -> Option<KernelXid> {
    let at = line.find("NVRM: Xid (")?;
    let rest = &line[at + "NVRM: Xid (".len()..];
    let (pci, rest) = rest.split_once("):")?;
    let pci = pci.strip_prefix("PCI:").unwrap_or(pci);
    let rest = rest.trim_start();
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let code = rest[..digits].parse().ok()?;
    let text: String = rest[digits..]
        .trim_start_matches([',', ' '])
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT)
        .collect();
    // journalctl's short-iso and dmesg's iso put the time first; a raw dmesg `[ 12.3]` does not.
    let time = line[..at]
        .split_whitespace()
        .next()
        .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('T'))
        .map(str::to_string);
    Some(KernelXid { time, bus: bus_prefix(pci)?, code, text: text.trim_end().to_string() })
}

/// `0000:3b:00` or `00000000:3B:00.0` → `00000000:3B:00`: domain, bus and device, no function.
pub fn bus_prefix(id: &str) -> Option<String> {
    let id = id.trim().to_ascii_uppercase();
    let mut parts = id.split(':');
    let (domain, bus, dev) = (parts.next()?, parts.next()?, parts.next()?);
    let dev = dev.split('.').next()?;
    let hex = |s: &str, n: usize| !s.is_empty() && s.len() <= n && s.chars().all(|c| c.is_ascii_hexdigit());
    (hex(domain, 8) && hex(bus, 2) && hex(dev, 2)).then(|| format!("{domain:0>8}:{bus:0>2}:{dev:0>2}"))
}

/// The GPU at `bus` among `(index, NVML bus ID)` pairs.
pub fn gpu_at<'a>(bus: &str, gpus: impl IntoIterator<Item = (u32, &'a str)>) -> Option<u32> {
    gpus.into_iter().find(|(_, id)| bus_prefix(id).as_deref() == Some(bus)).map(|(i, _)| i)
}

/// Every XID line of `text`, oldest first, at most `MAX_EVENTS` (the first ones: a report of
/// what happened after says there were more).
pub fn parse(text: &str) -> (Vec<KernelXid>, bool) {
    let mut out = Vec::new();
    for x in text.lines().filter_map(parse_line) {
        if out.len() == MAX_EVENTS {
            return (out, true);
        }
        out.push(x);
    }
    (out, false)
}

/// This boot's kernel log: journalctl first (it keeps the whole boot), then dmesg (its ring
/// buffer may have dropped early lines).
pub async fn read() -> KernelLog {
    read_from(&Readers::default()).await
}

/// Where the readers are: on PATH, or (for a test) in a directory of their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readers {
    pub dir: Option<std::path::PathBuf>,
}

/// As `read`, with the readers found where `readers` says.
pub async fn read_from(readers: &Readers) -> KernelLog {
    let journal = ["-k", "-b", "-q", "--no-pager", "-o", "short-iso"];
    let programs: [(&'static str, &[&str], Source); 2] =
        [("journalctl", &journal, Source::Journal), ("dmesg", &["--time-format", "iso"], Source::Dmesg)];
    let mut why = Vec::new();
    for (program, args, source) in programs {
        match read_with_in(readers.dir.as_deref(), program, args).await {
            Ok((xids, truncated)) => return KernelLog::Read { source, xids, truncated },
            Err(e) => why.push(e),
        }
    }
    KernelLog::Unreadable(why)
}

/// Runs `program` and keeps its XID lines, reading at most `MAX_BYTES` for at most `DEADLINE`.
pub async fn read_with(program: &'static str, args: &[&str]) -> Result<(Vec<KernelXid>, bool), ReadError> {
    read_with_in(None, program, args).await
}

/// As `read_with`, with `program` looked up in `dir` when one is given.
async fn read_with_in(
    dir: Option<&std::path::Path>,
    program: &'static str,
    args: &[&str],
) -> Result<(Vec<KernelXid>, bool), ReadError> {
    let path = dir.map_or_else(|| std::path::PathBuf::from(program), |d| d.join(program));
    let mut child = tokio::process::Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotInstalled(program),
            kind => ReadError::Spawn(program, kind),
        })?;
    let stdout = child.stdout.take().ok_or(ReadError::Spawn(program, std::io::ErrorKind::BrokenPipe))?;
    let work = async {
        let mut lines = BufReader::new(stdout.take(MAX_BYTES)).lines();
        let (mut xids, mut any, mut truncated) = (Vec::new(), false, false);
        // A line that is not UTF-8 ends the reading as an error: what was read still counts.
        while let Ok(Some(line)) = lines.next_line().await {
            any = true;
            match parse_line(&line) {
                Some(_) if xids.len() == MAX_EVENTS => truncated = true,
                Some(x) => xids.push(x),
                None => {}
            }
        }
        let status = child.wait().await.ok().and_then(|s| s.code());
        (xids, any, truncated, status)
    };
    let (xids, any, truncated, status) = tokio::time::timeout(DEADLINE, work)
        .await
        .map_err(|_| ReadError::Timeout(program, DEADLINE.as_secs()))?;
    match status {
        Some(0) if !any => Err(ReadError::NothingVisible(program)),
        Some(0) => Ok((xids, truncated)),
        Some(code) => Err(ReadError::Exit(program, code)),
        // Killed by a signal, or the reading stopped at the size cap before it exited.
        None if any => Ok((xids, true)),
        None => Err(ReadError::Exit(program, -1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as journalctl -k -o short-iso, dmesg --time-format iso and a raw dmesg print them
    /// (r535 and r550 drivers).
    const CAPTURED: &str = "\
2026-12-06T03:12:44+0000 dgx01 kernel: NVRM: Xid (PCI:0000:3b:00): 79, pid=2831, name=python, GPU has fallen off the bus.
2026-12-06T03:12:44+0000 dgx01 kernel: NVRM: GPU at PCI:0000:3b:00: GPU-5a6c3c1e-5a0c-2c7f-b3c1-0c5f3b6f9e11
2026-12-06T03:12:45,118263+00:00 NVRM: Xid (PCI:0000:86:00): 13, pid='<unknown>', name=<unknown>, Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0): Out Of Range Address
[ 8811.020202] NVRM: Xid (PCI:0000:b7:00): 48, pid=911, name=train, An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at partition 6, subpartition 0.
2026-12-06T03:13:00+0000 dgx01 kernel: nvidia-modeset: WARNING: GPU:0: Lost display notification
";

    #[test]
    fn captured_xid_lines_parse_and_map_to_gpus_by_bus() {
        let (xids, truncated) = parse(CAPTURED);
        assert!(!truncated);
        let codes: Vec<u64> = xids.iter().map(|x| x.code).collect();
        assert_eq!(codes, vec![79, 13, 48]);
        assert_eq!(xids[0].bus, "00000000:3B:00");
        assert_eq!(xids[0].time.as_deref(), Some("2026-12-06T03:12:44+0000"));
        assert_eq!(xids[0].text, "pid=2831, name=python, GPU has fallen off the bus.");
        assert_eq!(xids[1].time.as_deref(), Some("2026-12-06T03:12:45,118263+00:00"));
        assert_eq!(xids[2].time, None, "a raw dmesg uptime is not a time");
        let nvml = [(0, "00000000:3B:00.0"), (1, "00000000:86:00.0"), (2, "00000000:B7:00.0")];
        let at: Vec<Option<u32>> = xids.iter().map(|x| gpu_at(&x.bus, nvml)).collect();
        assert_eq!(at, vec![Some(0), Some(1), Some(2)]);
        assert_eq!(gpu_at("00000000:3B:00", [(0, "00000000:3C:00.0")]), None);
        // 2026-12-06T03:12:44Z is 1796526764.
        let times: Vec<Option<i64>> = xids.iter().map(KernelXid::unix_time).collect();
        assert_eq!(times, vec![Some(1_796_526_764), Some(1_796_526_765), None]);
    }

    #[test]
    fn times_in_every_zone_form_are_unix_seconds() {
        let at = |t: &str| {
            KernelXid { time: Some(t.into()), bus: String::new(), code: 0, text: String::new() }.unix_time()
        };
        let utc = Some(1_796_526_764);
        assert_eq!(at("2026-12-06T03:12:44Z"), utc);
        assert_eq!(at("2026-12-06T03:12:44"), utc);
        assert_eq!(at("2026-12-06T04:12:44+0100"), utc);
        assert_eq!(at("2026-12-05T22:12:44.5-05:00"), utc);
        assert_eq!(at("2026-12-06T03:12:44+01"), None, "an offset without minutes");
        assert_eq!(at("12-06 03:12"), None);
    }

    #[test]
    fn odd_lines_are_not_xids_and_text_is_bounded_and_clean() {
        assert_eq!(parse_line("NVRM: Xid (PCI:zz:1): 79, x"), None);
        assert_eq!(parse_line("NVRM: Xid (PCI:0000:3b:00): , nothing"), None);
        assert_eq!(parse_line("kernel: usb 1-1: new device"), None);
        let long = format!("NVRM: Xid (PCI:0000:3b:00): 31, \x1b[2J{}", "x".repeat(5000));
        let x = parse_line(&long).unwrap_or_else(|| panic!("no parse"));
        assert!(x.text.chars().count() <= MAX_TEXT && !x.text.contains('\x1b'), "{:?}", x.text);
        let many = "NVRM: Xid (PCI:0000:3b:00): 31, fault\n".repeat(MAX_EVENTS + 5);
        let (xids, truncated) = parse(&many);
        assert_eq!((xids.len(), truncated), (MAX_EVENTS, true));
    }

    /// A real process through the real reader: its XID lines are kept; one that prints nothing
    /// (journalctl for a user outside adm) or fails is unreadable, not "no XIDs".
    #[tokio::test]
    async fn the_reader_keeps_xids_and_calls_silence_unreadable() {
        let script = "printf '%s\\n' 'x kernel: booted' '2026-12-06T03:12:44+0000 h kernel: NVRM: Xid (PCI:0000:3b:00): 79, gone'";
        let (xids, truncated) = read_with("sh", &["-c", script]).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((xids.len(), xids[0].code, truncated), (1, 79, false));
        assert_eq!(read_with("sh", &["-c", "true"]).await, Err(ReadError::NothingVisible("sh")));
        assert_eq!(read_with("sh", &["-c", "exit 1"]).await, Err(ReadError::Exit("sh", 1)));
        assert_eq!(
            read_with("gpudock-no-such-reader", &[]).await,
            Err(ReadError::NotInstalled("gpudock-no-such-reader"))
        );
    }
}
