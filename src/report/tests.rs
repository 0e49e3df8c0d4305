use super::*;
use crate::fleet::prom::Sample;

fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
    Sample { labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), at: 0.0, value }
}

#[test]
fn the_step_keeps_every_figure_bounded() {
    assert_eq!(Window::new(Duration::from_secs(600)), Window { since_secs: 600, step_secs: 15 });
    let week = Window::new(Duration::from_secs(7 * 86_400));
    assert_eq!(week.step_secs % MIN_STEP, 0);
    assert!(week.since_secs / week.step_secs <= MAX_STEPS, "{week:?}");
    let year = Window::new(Duration::from_secs(400 * 86_400));
    assert!(year.since_secs / year.step_secs <= MAX_STEPS, "{year:?}");
    let q = queries(By::Owner, Window::new(Duration::from_secs(600)));
    assert_eq!(q[0], "sum_over_time((sum by (owner) (gpudock_owner_gpus_held))[600s:15s]) * 15 / 3600");
    assert!(q[3].starts_with("max_over_time((sum by (owner) (gpudock_owner_gpu_memory_used_bytes))"));
}

#[test]
fn answers_join_by_row_and_sort_widest_first() {
    let answers = [
        Answer::Vector(vec![
            sample(&[("owner", "alice")], 2.0),
            sample(&[("owner", "bob")], 5.5),
            sample(&[("owner", "")], 0.5),
        ]),
        Answer::Vector(vec![sample(&[("owner", "bob")], 4.0)]),
        Answer::Vector(vec![sample(&[("owner", "alice")], 1.5), sample(&[("owner", "carol")], f64::NAN)]),
        Answer::Vector(vec![sample(&[("owner", "alice")], 8.0 * (1u64 << 30) as f64)]),
    ];
    let rows = rows(By::Owner, answers);
    let keys: Vec<&str> = rows.iter().map(|r| r.key[0].as_str()).collect();
    assert_eq!(keys, ["bob", "alice", ""], "carol held nothing; NaN is no figure");
    assert_eq!((rows[1].held_gpu_hours, rows[1].idle_gpu_hours), (2.0, 1.5));
    assert_eq!(rows[0].peak_memory_bytes, None);
    let report =
        Report { by: By::Owner, window: Window::new(Duration::from_secs(600)), end: 1_795_958_337.0, rows };
    let t = table(&report);
    assert!(t.contains("resolution 15 s"), "{t}");
    assert!(
        t.lines().nth(2).is_some_and(|l| l.starts_with("bob ") && l.contains("5.50") && l.contains("4.00")),
        "{t}"
    );
    assert!(t.contains("- (unknown)") && t.contains("8.0GiB"), "{t}");
    let c = csv(&report);
    assert_eq!(
        c.lines().next(),
        Some("owner,held_gpu_hours,busy_gpu_hours,idle_held_gpu_hours,peak_memory_bytes")
    );
    assert_eq!(c.lines().nth(1), Some("bob,5.5,4,0,"));
    let j: serde_json::Value = serde_json::from_str(&json(&report)).unwrap_or_default();
    assert_eq!(j["rows"][0]["owner"], "bob");
    assert!(j["rows"][2]["owner"].is_null(), "unknown owner is null");
    assert_eq!(j["resolution_seconds"], 15);
}

#[test]
fn container_rows_name_their_node_and_text_from_outside_stays_one_line() {
    let answers = [
        Answer::Vector(vec![sample(&[("Hostname", "dgx-1"), ("container", "evil\nFORGED,\"x\"")], 1.0)]),
        Answer::Vector(vec![]),
        Answer::Vector(vec![]),
        Answer::Vector(vec![]),
    ];
    let report = Report {
        by: By::Container,
        window: Window::new(Duration::from_secs(3600)),
        end: 1_795_958_337.0,
        rows: rows(By::Container, answers),
    };
    let t = table(&report);
    assert_eq!(t.lines().count(), 3, "{t}");
    assert!(t.contains("dgx-1/evil\\nFORGED"), "{t}");
    let c = csv(&report);
    assert_eq!(c.lines().nth(1), Some("dgx-1,\"evil\\nFORGED,\"\"x\"\"\",1,0,0,"));
    assert!(c.starts_with("node,container,"));
}

#[test]
fn since_is_checked() {
    assert_eq!(parse_since("7d"), Ok(Duration::from_secs(7 * 86_400)));
    assert_eq!(parse_since("10m"), Ok(Duration::from_secs(600)));
    assert!(parse_since("10s").is_err_and(|e| e.contains("between")));
    assert!(parse_since("forever").is_err_and(|e| e.contains("7d")));
}
