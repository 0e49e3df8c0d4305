//! The Prometheus client against a loopback stand-in that checks basic auth and answers what a
//! test tells it: credentials sent, HTTP errors explained, the API's errors passed on, and the
//! collector reporting a server that is down instead of failing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use gpudock::fleet::{FleetCollector, FleetEvent, PromClient, PromError};
use tokio::sync::{mpsc, watch};

/// Serves `n` requests: 401 without `Basic YWxpY2U6czNjcmV0` (alice:s3cret), else `body`.
fn server(n: usize, status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(n).flatten() {
            let mut reader = BufReader::new(&conn);
            let (mut line, mut authorized, mut length) = (String::new(), false, 0usize);
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                let lower = line.to_ascii_lowercase();
                authorized |= line.split_once(':').is_some_and(|(k, v)| {
                    k.eq_ignore_ascii_case("authorization") && v.trim() == "Basic YWxpY2U6czNjcmV0"
                });
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut form = vec![0u8; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut form);
            let (status, body) =
                if authorized { (status, body) } else { ("401 Unauthorized", "Unauthorized\n") };
            let mut out = &conn;
            let _ = write!(
                out,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("{e}"))
}

const OK: &str =
    r#"{"status":"success","data":{"resultType":"scalar","result":[1795958337.5,"1795958337.5"]}}"#;

#[test]
fn basic_auth_from_the_url_or_the_config() {
    let rt = rt();
    let addr = server(3, "200 OK", OK);
    let from_url =
        PromClient::new(&format!("http://alice:s3cret@{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
    assert!(rt.block_on(from_url.query("time()", None)).is_ok());
    let from_config = PromClient::new(&format!("http://{addr}"), Some(("alice".into(), "s3cret".into())))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(rt.block_on(from_config.query("time()", None)).is_ok());
    let without = PromClient::new(&format!("http://{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
    let err = rt.block_on(without.query("time()", None)).err();
    assert!(
        matches!(&err, Some(PromError::Http { status: 401, hint }) if hint.contains("prometheus_user")),
        "{err:?}"
    );
}

#[test]
fn the_api_s_own_errors_and_non_api_answers() {
    let rt = rt();
    let refused =
        r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#;
    let addr = server(1, "400 Bad Request", refused);
    let c = PromClient::new(&format!("http://alice:s3cret@{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
    let err = rt.block_on(c.query("sum(", None)).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("refused the query (bad_data)") && err.contains("parse error"), "{err}");
    let addr = server(1, "200 OK", "<html>a login page</html>");
    let c = PromClient::new(&format!("http://alice:s3cret@{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
    let err = rt.block_on(c.query("up", None)).err();
    assert!(matches!(err, Some(PromError::Malformed(_))), "{err:?}");
}

#[test]
fn the_collector_reports_a_server_that_is_down_and_keeps_going() {
    let rt = rt();
    // A port nobody listens on.
    let port =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}")).local_addr().map(|a| a.port());
    let client = PromClient::new(&format!("http://127.0.0.1:{}", port.unwrap_or(1)), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = mpsc::channel(4);
    let (_focus_tx, focus) = watch::channel(None);
    let (_users_tx, users) = watch::channel(false);
    rt.block_on(async {
        let task =
            tokio::spawn(FleetCollector { client, refresh: Duration::from_secs(1), focus, users, tx }.run());
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.ok().flatten();
        match ev {
            Some(FleetEvent::Down { reason, retry_in, .. }) => {
                assert!(reason.contains("cannot reach Prometheus") && reason.contains("refused"), "{reason}");
                assert_eq!(retry_in, Duration::from_secs(5));
            }
            other => panic!("expected Down, got {other:?}"),
        }
        assert!(!task.is_finished(), "the collector keeps trying");
        task.abort();
    });
}

/// Serves one request: `body` gzipped (`Content-Encoding: gzip`) when it asked for gzip, else
/// as it is; the flag says whether it asked.
fn gzip_server(body: Vec<u8>) -> (String, std::sync::mpsc::Receiver<bool>) {
    use flate2::{Compression, write::GzEncoder};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
    let (said, asked) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Some(Ok(conn)) = listener.incoming().next() else { return };
        let mut reader = BufReader::new(&conn);
        let (mut line, mut gzip, mut length) = (String::new(), false, 0usize);
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            let lower = line.to_ascii_lowercase();
            gzip |= lower.strip_prefix("accept-encoding:").is_some_and(|v| v.contains("gzip"));
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            line.clear();
        }
        let mut form = vec![0u8; length];
        let _ = std::io::Read::read_exact(&mut reader, &mut form);
        let _ = said.send(gzip);
        let (head, body) = if gzip {
            let mut enc = GzEncoder::new(Vec::new(), Compression::default());
            let _ = enc.write_all(&body);
            ("Content-Encoding: gzip\r\n", enc.finish().unwrap_or_default())
        } else {
            ("", body)
        };
        let mut out = &conn;
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = out.write_all(&body);
    });
    (addr, asked)
}

#[test]
fn answers_come_gzipped_and_count_what_crossed_the_wire() {
    use gpudock::fleet::prom::Answer;
    let rt = rt();
    let series: Vec<String> = (0..500)
        .map(|i| {
            format!(r#"{{"metric":{{"Hostname":"gpu-node-{i:03}","s":"p"}},"value":[1795958337,"{i}"]}}"#)
        })
        .collect();
    let plain =
        format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#, series.join(","));
    let (addr, asked) = gzip_server(plain.clone().into_bytes());
    let c = PromClient::new(&format!("http://{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
    let (answer, size) = rt.block_on(c.query("x", None)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(asked.recv().ok(), Some(true), "the client asks for gzip");
    let Answer::Vector(v) = answer else { panic!("not a vector") };
    assert_eq!((v.len(), v[499].value), (500, 499.0));
    assert!(size * 5 < plain.len(), "{size} bytes sent for {} unpacked", plain.len());
}

#[test]
fn a_gzip_answer_that_unpacks_past_the_cap_is_refused() {
    let rt = rt();
    // 40 MiB of spaces inside the JSON: valid once unpacked, a few KB packed.
    let mut bomb = br#"{"status":"success","data":{"resultType":"vector","result":[]}"#.to_vec();
    bomb.resize(bomb.len() + (40 << 20), b' ');
    bomb.push(b'}');
    let (addr, _) = gzip_server(bomb);
    let c = PromClient::new(&format!("http://{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
    let err = rt.block_on(c.query("x", None)).err();
    assert!(matches!(err, Some(PromError::TooBig { limit: 33_554_432 })), "{err:?}");
}
