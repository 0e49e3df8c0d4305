//! Loopback exposition servers (static text, like an exporter's /metrics) and a real Prometheus
//! scraping them, for the fleet view's tests. Every child and thread ends with its guard.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Serves `text` at every path until stopped; then its port refuses connections.
pub struct Exposition {
    pub addr: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Exposition {
    pub fn serve(text: String) -> Exposition {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn {
                    answer(conn, &text);
                }
            }
        });
        Exposition { addr, stop, thread: Some(thread) }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which sees the flag and drops the listener.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Exposition {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(conn: TcpStream, text: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reader = BufReader::new(&conn);
    let mut line = String::new();
    // The request line and headers; the body of a GET is empty.
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut out = &conn;
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fleet").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where `prometheus` is, if installed.
pub fn prometheus_binary() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join("prometheus"))
        .find(|p| p.is_file())
}

/// A Prometheus server scraping `targets`; killed on drop.
pub struct Prometheus {
    pub url: String,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
}

impl Prometheus {
    /// Scraping every second.
    pub fn start(bin: &Path, targets: &[&str]) -> Prometheus {
        Prometheus::start_every(bin, targets, 1)
    }

    /// Scraping every `secs` seconds: a target of tens of thousands of series takes longer than
    /// a second to scrape on a small machine, and a scrape that runs past its timeout is lost.
    pub fn start_every(bin: &Path, targets: &[&str], secs: u32) -> Prometheus {
        let secs = secs.max(1);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let list = targets.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
        let timeout_ms = secs * 1000 - 100;
        let config = format!(
            "global:\n  scrape_interval: {secs}s\n  scrape_timeout: {timeout_ms}ms\n  evaluation_interval: {secs}s\n\
             scrape_configs:\n  - job_name: gpudock\n    static_configs:\n      - targets: [{list}]\n"
        );
        let cfg = dir.path().join("prometheus.yml");
        std::fs::write(&cfg, config).unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("log")).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let p = Prometheus { url: format!("http://127.0.0.1:{port}"), child: Some(child), _dir: dir };
        p.wait_for("/-/ready", |b| !b.is_empty(), Duration::from_secs(30));
        p
    }

    /// Polls `path` until `ok(body)`; panics with the server's log after `limit`.
    pub fn wait_for(&self, path: &str, ok: impl Fn(&str) -> bool, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(body) = self.get(path)
                && ok(&body)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default();
        panic!(
            "{path} not ready after {limit:?}; prometheus log:\n{}",
            &log[log.len().saturating_sub(2000)..]
        );
    }

    /// A plain GET over a fresh connection; None on any failure or a non-200 status.
    pub fn get(&self, path: &str) -> Option<String> {
        let host = self.url.trim_start_matches("http://");
        let mut conn = TcpStream::connect(host).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(conn, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut conn, &mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        (head.split_whitespace().nth(1) == Some("200")).then(|| body.to_string())
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}
