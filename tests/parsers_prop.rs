//! Property tests for the parsers that take outside text: cgroup lines, `/proc/<pid>/stat`,
//! Prometheus' JSON, an engine stream's framing, and the config file. (The toolchain is stable,
//! so `cargo fuzz` is out; proptest runs in every `cargo test`.) The log demuxer's property
//! test lives beside it (`docker::logs`), its splitter being private.

use gpudock::bounded::Overrun;
use gpudock::docker::framing::{Messages, Scanner};
use gpudock::procfs;
use proptest::prelude::*;

const ID: &str = "02ced20798aeb1d655daa16bd706f5b759de05aa9852684571d553c1e1dfcf96";

proptest! {
    #[test]
    fn cgroup_text_never_panics_and_ids_are_ids(text in ".{0,512}") {
        let _ = procfs::cgroup_entries(&text).count();
        if let Some(id) = procfs::container_id_from_cgroup(&text) {
            prop_assert!(id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{id}");
        }
    }

    #[test]
    fn a_container_id_is_found_wherever_the_runtime_puts_it(
        prefix in "(/[a-z0-9_.@-]{1,12}){0,4}",
        wrap in prop_oneof![Just(("", "")), Just(("docker-", ".scope")), Just(("cri-containerd-", ".scope")), Just(("libpod-", ".scope"))],
        hierarchy in 0u32..14,
        controllers in prop_oneof![Just(""), Just("memory"), Just("cpu,cpuacct")],
    ) {
        let line = format!("{hierarchy}:{controllers}:{prefix}/{}{ID}{}", wrap.0, wrap.1);
        let found = procfs::container_id_from_cgroup(&line);
        prop_assert_eq!(found.as_deref(), Some(ID));
    }

    #[test]
    fn stat_lines_parse_whatever_the_command_name(comm in "[^\u{0}]{0,32}", start in any::<u32>(), utime in any::<u32>(), stime in any::<u32>()) {
        let line = format!("4242 ({comm}) S 1 1 1 0 -1 4194560 0 0 0 0 {utime} {stime} 0 0 20 0 1 0 {start} 0 0");
        let parsed = procfs::parse_stat(&line);
        prop_assert!(parsed.is_some(), "{line}");
        let parsed = parsed.unwrap_or_else(|| unreachable!());
        prop_assert_eq!(parsed.start_time, u64::from(start));
        prop_assert_eq!(parsed.cpu_ticks, u64::from(utime) + u64::from(stime));
    }

    #[test]
    fn stat_text_never_panics(text in ".{0,256}") {
        let _ = procfs::parse_stat(&text);
    }

    #[test]
    fn prometheus_answers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = gpudock::fleet::prom::parse(&body);
    }

    #[test]
    fn prometheus_shaped_json_never_panics(
        status in prop_oneof![Just("success".to_string()), Just("error".to_string()), ".{0,8}"],
        kind in prop_oneof![Just("vector".to_string()), Just("matrix".to_string()), Just("scalar".to_string()), ".{0,8}"],
        t in any::<f64>(),
        v in ".{0,12}",
        label in ".{0,12}",
    ) {
        let doc = serde_json::json!({
            "status": status,
            "data": {"resultType": kind, "result": [
                {"metric": {"Hostname": label}, "value": [t, v], "values": [[t, v]]}
            ]},
            "errorType": label, "error": v,
        });
        let _ = gpudock::fleet::prom::parse(doc.to_string().as_bytes());
    }

    #[test]
    fn config_text_never_panics(text in ".{0,512}") {
        let _ = gpudock::config::Config::from_sources(Some(&text), None);
    }

    #[test]
    fn config_shaped_toml_never_panics(
        key in prop_oneof![Just("refresh".to_string()), Just("theme".to_string()), Just("read_only".to_string()), Just("shell".to_string()), Just("idle_gpu_after".to_string()), "[a-z_]{1,12}"],
        value in prop_oneof![Just("1".to_string()), Just("true".to_string()), Just("-5".to_string()), Just("1e309".to_string()), "\"[^\"\\\\]{0,16}\""],
    ) {
        let _ = gpudock::config::Config::from_sources(Some(&format!("{key} = {value}\n")), None);
    }

    /// A stream's framing, cut anywhere: lines within the limit always pass, and the verdict
    /// does not depend on how the bytes arrived.
    #[test]
    fn chunked_json_lines_pass_however_they_arrive(
        lines in proptest::collection::vec("[a-z{}:\" ]{0,40}", 0..20),
        cuts in proptest::collection::vec(1usize..64, 0..40),
    ) {
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let payload: String = lines.iter().map(|l| format!("{l}\n")).collect();
        for piece in payload.as_bytes().chunks(7) {
            wire.extend(format!("{:x}\r\n", piece.len()).bytes());
            wire.extend_from_slice(piece);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let mut s = Scanner::new("GET /events", Messages::Lines, 64);
        let mut rest: &[u8] = &wire;
        for c in cuts {
            let n = c.min(rest.len());
            prop_assert!(s.feed(&rest[..n]).is_ok());
            rest = &rest[n..];
        }
        prop_assert!(s.feed(rest).is_ok());
    }

    #[test]
    fn any_bytes_on_a_stream_never_panic(
        kind in prop_oneof![Just(Messages::Lines), Just(Messages::Frames { raw_lines: true }), Just(Messages::Frames { raw_lines: false })],
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cut in 1usize..128,
    ) {
        let mut s = Scanner::new("GET /x", kind, 256);
        for piece in bytes.chunks(cut) {
            if let Err(e) = s.feed(piece) {
                prop_assert!(matches!(e, Overrun::MessageTooBig { .. }), "{e}");
                break;
            }
        }
    }
}
