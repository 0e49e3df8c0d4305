//! Hostile peers for the tests, each started by the test that needs it and stopped when its
//! guard drops: an engine whose answer never ends, a TLS engine with a certificate from a rogue
//! CA. Only loopback.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A Docker engine on 127.0.0.1 that answers `/_ping` and `/version` like a real one, and
/// `endless_path` with a chunked body that does not end (it gives up after `give_up` bytes, so
/// a client without a cap fails the test instead of hanging it).
pub struct EndlessEngine {
    pub url: String,
    /// Body bytes written to the endless answer so far.
    pub sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Set: the engine answers nothing more, as one stopped with SIGSTOP (connections are
    /// still accepted by the kernel).
    pub frozen: Arc<AtomicBool>,
}

impl EndlessEngine {
    pub fn start(endless_path: &'static str, give_up: u64) -> EndlessEngine {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let url = format!("tcp://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
        let sent = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let frozen = Arc::new(AtomicBool::new(false));
        let (s, st, fr) = (Arc::clone(&sent), Arc::clone(&stop), Arc::clone(&frozen));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let peer = Peer { sent: Arc::clone(&s), stop: Arc::clone(&st), frozen: Arc::clone(&fr) };
                std::thread::spawn(move || serve(conn, endless_path, give_up, &peer));
            }
        });
        EndlessEngine { url, sent, stop, frozen }
    }
}

impl Drop for EndlessEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.url.trim_start_matches("tcp://"));
    }
}

struct Peer {
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
}

impl Peer {
    /// Holds the connection open, silent, until the engine is dropped.
    fn hang(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn serve(conn: TcpStream, endless_path: &str, give_up: u64, peer: &Peer) {
    let sent = &peer.sent;
    let Ok(read_half) = conn.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        // Skip the headers (requests from bollard here carry no body).
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
        }
        let path = path.split('?').next().unwrap_or("").to_string();
        if peer.frozen.load(Ordering::Relaxed) {
            return peer.hang();
        }
        if path.ends_with("/events") {
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            return peer.hang();
        }
        if !endless_path.is_empty() && path.ends_with(endless_path) {
            let _ = out.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            let item =
                format!("{{\"Id\":\"{}\",\"Names\":[\"/endless\"],\"State\":\"running\"}},", "a".repeat(64));
            let mut chunk = format!("{:x}\r\n[", item.len() * 1000 + 1).into_bytes();
            chunk.extend(item.repeat(1000).into_bytes());
            chunk.extend_from_slice(b"\r\n");
            // The first chunk opens the array; the rest only add to it.
            let mut body = chunk;
            loop {
                if out.write_all(&body).is_err() {
                    return;
                }
                let total = sent.fetch_add(body.len() as u64, Ordering::Relaxed) + body.len() as u64;
                if total > give_up {
                    return;
                }
                body = format!("{:x}\r\n", item.len() * 1000).into_bytes();
                body.extend(item.repeat(1000).into_bytes());
                body.extend_from_slice(b"\r\n");
            }
        }
        let body = match path.as_str() {
            p if p.ends_with("/_ping") => "OK".to_string(),
            p if p.ends_with("/info") => "{}".into(),
            p if p.ends_with("/version") => {
                r#"{"Version":"27.5.1","ApiVersion":"1.47","MinAPIVersion":"1.24","Os":"linux","Arch":"amd64"}"#.into()
            }
            _ => "[]".into(),
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.47\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(body.as_bytes())).is_err() {
            return;
        }
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made by
/// `scripts/make-test-certs.sh` in a fresh directory.
pub fn certs(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gpudock-hostile-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/make-test-certs.sh");
    let ok = Command::new("bash").arg(script).arg(&dir).status().is_ok_and(|s| s.success());
    assert!(ok, "make-test-certs.sh {}", dir.display());
    dir
}

/// `openssl s_server` on 127.0.0.1 with the certificate in `dir`: it completes a TLS handshake
/// with anyone who trusts that CA and answers any request with a web page.
pub struct RogueTls {
    pub url: String,
    child: Child,
}

impl RogueTls {
    pub fn start(dir: &Path) -> RogueTls {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(dir.join("server-cert.pem"))
            .arg("-key")
            .arg(dir.join("server-key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("openssl s_server: {e}"));
        // Ready once it accepts.
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        RogueTls { url: format!("tcp://127.0.0.1:{port}"), child }
    }
}

impl Drop for RogueTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local user who opens `n` connections to `port` and keeps them open and silent, opening a
/// new one whenever the server closes one.
pub struct Flood {
    stop: Arc<AtomicBool>,
    pub opened: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flood {
    pub fn start(port: u16, n: usize) -> Flood {
        raise_own_file_limit(n as u64 + 256);
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicU64::new(0));
        let (st, op) = (Arc::clone(&stop), Arc::clone(&opened));
        let thread = std::thread::spawn(move || {
            let mut conns: Vec<TcpStream> = Vec::new();
            while !st.load(Ordering::Relaxed) {
                // Closed by the server: a read that returns 0 (or fails) at once.
                conns.retain(|c| {
                    let _ = c.set_nonblocking(true);
                    let mut b = [0u8; 1];
                    matches!(std::io::Read::read(&mut &*c, &mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                while conns.len() < n {
                    match TcpStream::connect(("127.0.0.1", port)) {
                        Ok(c) => {
                            conns.push(c);
                            op.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => break,
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        Flood { stop, opened, thread: Some(thread) }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// This test process needs more descriptors than the server it floods.
fn raise_own_file_limit(want: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: a valid resource and a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Runs `cmd` with a file limit of `n`, soft and hard: the common 1,024 of a login session.
pub fn with_file_limit(cmd: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: n, rlim_max: n };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
