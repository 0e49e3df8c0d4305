use super::*;
use crate::fleet::prom::Labels;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sample(pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample { labels: labels(pairs), at: 1000.0, value }
}

#[test]
fn a_gpu_both_exporters_describe_is_one_row_with_gpudock_figures_first() {
    let series = [
        sample(&[("__name__", "gpudock_gpu_utilization_percent"), ("UUID", "GPU-1"), ("gpu", "0")], 50.0),
        sample(&[("__name__", "gpudock_gpu_memory_used_bytes"), ("UUID", "GPU-1"), ("gpu", "0")], 1e9),
        // dcgm's main branch spells them in lower case
        sample(&[("__name__", "DCGM_FI_DEV_GPU_UTIL"), ("uuid", "GPU-1"), ("gpu", "0")], 47.0),
        sample(&[("__name__", "DCGM_FI_DEV_GPU_TEMP"), ("uuid", "GPU-1"), ("gpu", "0")], 60.0),
        sample(&[("__name__", "DCGM_FI_DEV_FB_FREE"), ("uuid", "GPU-1"), ("gpu", "0")], 1024.0),
        sample(
            &[
                ("__name__", "DCGM_FI_DEV_FB_USED"),
                ("UUID", "GPU-2"),
                ("gpu", "1"),
                ("modelName", "NVIDIA L4"),
            ],
            512.0,
        ),
        sample(&[("__name__", "gpudock_engine_up")], 1.0),
    ];
    let d = detail("n1", &series, &[]);
    assert_eq!(d.gpus.len(), 2, "{d:#?}");
    let g = &d.gpus[0];
    assert_eq!((g.uuid.as_str(), g.source), ("GPU-1", Source::Both));
    assert_eq!(g.util, Some(50.0), "gpudock's figure wins");
    assert_eq!(g.temp, Some(60.0), "dcgm fills what gpudock left out");
    assert_eq!(g.mem_total, Some(1e9 + 1024.0 * MIB));
    let g = &d.gpus[1];
    assert_eq!((g.index, g.source, g.model.as_str()), (Some(1), Source::Dcgm, "NVIDIA L4"));
    assert_eq!(g.mem_used, Some(512.0 * MIB));
    assert_eq!(d.engine_up, Some(true));
}

#[test]
fn containers_join_their_info_and_pods_come_from_dcgm() {
    let c = |metric: &str, v: f64| {
        sample(
            &[
                ("__name__", metric),
                ("container", "train"),
                ("container_id", "abc"),
                ("image", "img:1"),
                ("gpu", "0"),
            ],
            v,
        )
    };
    let info = sample(
        &[
            ("__name__", "gpudock_container_info"),
            ("container", "train"),
            ("container_id", "abc"),
            ("launched_by", "bob"),
        ],
        1.0,
    );
    let pod = sample(
        &[
            ("__name__", "DCGM_FI_DEV_FB_USED"),
            ("UUID", "GPU-9"),
            ("gpu", "3"),
            ("exported_pod", "llm-0"),
            ("exported_namespace", "ml"),
        ],
        4096.0,
    );
    let d = detail(
        "n1",
        &[pod],
        &[
            c("gpudock_container_gpu_memory_used_bytes", 1e9),
            c("gpudock_container_gpu_sm_percent", 30.0),
            info,
            // Every running container has this series, without a GPU: no row of its own.
            sample(
                &[
                    ("__name__", "gpudock_container_gpus_requested"),
                    ("container", "cpu-only"),
                    ("container_id", "def"),
                ],
                0.0,
            ),
        ],
    );
    assert_eq!(d.containers.len(), 2, "{d:#?}");
    assert_eq!(d.containers[0].name, "ml/llm-0", "the largest first");
    assert_eq!(d.containers[0].launched_by, "kubernetes");
    let t = &d.containers[1];
    assert_eq!((t.name.as_str(), t.launched_by.as_str(), t.sm_percent), ("train", "bob", Some(30.0)));
}

#[test]
fn node_rows_from_tagged_stats() {
    let s = |host: &str, tag: &str, v: f64| sample(&[("Hostname", host), ("s", tag)], v);
    let stats = [
        s("a", "g", 8_003_001_001_002.0),
        s("a", "mu", 1024.0),
        s("a", "t", 990.0),
        s("b", "t", -900.0),
        s("c", "t", -0.0),
        sample(&[("hostname", "d"), ("s", "g")], 2e12),
    ];
    let top = [
        sample(&[("Hostname", "a"), ("container", "small")], 1.0),
        sample(&[("Hostname", "a"), ("container", "big")], 9.0),
    ];
    let lines = [("a".to_string(), vec![Some(10.0), None, Some(30.0)])].into_iter().collect();
    let rows = nodes(&stats, &top, lines, 3);
    let names: Vec<&str> = rows.iter().map(|r| r.hostname.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    let a = &rows[0];
    assert_eq!((a.gpus, a.busy, a.held, a.broken, a.idle_held, a.free()), (8, 3, 1, 1, 2, 3));
    assert_eq!(a.mem_used, 1024.0 * MIB);
    assert!(a.fresh && a.last_seen == Some(990.0));
    assert_eq!(a.top[0].0, "big");
    assert_eq!(a.util_history, [Some(10.0), None, Some(30.0)]);
    assert_eq!(a.util_now(), Some(30.0));
    assert!(!rows[1].fresh && rows[1].last_seen == Some(900.0), "stale: {:?}", rows[1]);
    assert!(!rows[2].fresh && rows[2].last_seen.is_none());
    assert_eq!(rows[3].gpus, 2, "hostname spelled in lower case");
    let after = std::time::Duration::from_secs(60);
    assert!(!a.stale(1000.0, after) && a.stale(1100.0, after) && rows[1].stale(1000.0, after));
}

#[test]
fn the_xid_column_is_the_last_xid_from_either_exporter_never_a_count() {
    let series = [
        sample(&[("__name__", "gpudock_gpu_xid_errors_total"), ("UUID", "GPU-1"), ("gpu", "0")], 5.0),
        sample(&[("__name__", "gpudock_gpu_last_xid"), ("UUID", "GPU-1"), ("gpu", "0")], 79.0),
        sample(&[("__name__", "DCGM_FI_DEV_XID_ERRORS"), ("UUID", "GPU-2"), ("gpu", "1")], 48.0),
    ];
    let d = detail("n1", &series, &[]);
    let xids: Vec<Option<f64>> = d.gpus.iter().map(|g| g.xid).collect();
    assert_eq!(xids, [Some(79.0), Some(48.0)], "{d:#?}");
}

#[test]
fn owners_sum_over_the_fleet_and_containers_and_top_name_theirs() {
    let tagged = |s: &str, owner: &str, v: f64| sample(&[("s", s), ("owner", owner)], v);
    let rows = owners(&[
        tagged("m", "alice", 40.0 * 1e9),
        tagged("g", "alice", 3.0),
        tagged("c", "alice", 2.0),
        tagged("n", "alice", 2.0),
        tagged("sm", "alice", 140.0),
        tagged("m", "bob", 80.0 * 1e9),
        tagged("i", "bob", 12.0 * 1e9),
        tagged("m", "", 1e9),
        tagged("g", "carol", f64::NAN),
    ]);
    let names: Vec<&str> = rows.iter().map(|r| r.owner.as_str()).collect();
    assert_eq!(names, ["bob", "alice", ""], "most memory first; a NaN makes no row");
    assert_eq!((rows[1].gpus_held, rows[1].containers, rows[1].nodes), (3, 2, 2));
    assert_eq!(rows[1].sm_percent, Some(100.0), "never above 100");
    assert_eq!(rows[0].idle_mem, 12.0 * 1e9);
    // The TOP column names the owner where the exporter knows it.
    let top = [
        sample(&[("Hostname", "n1"), ("container", "train"), ("owner", "alice")], 2048.0),
        sample(&[("Hostname", "n1"), ("container", "pod-x")], 1024.0),
    ];
    let n = nodes(&[], &top, BTreeMap::new(), 2);
    let shown: Vec<&str> = n[0].top.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(shown, ["train (alice)", "pod-x"]);
    // A node's container rows carry the owner label of their series.
    let series = [sample(
        &[
            ("__name__", "gpudock_container_gpu_memory_used_bytes"),
            ("container_id", "c1"),
            ("gpu", "0"),
            ("owner", "alice"),
        ],
        1e9,
    )];
    assert_eq!(detail("n1", &[], &series).containers[0].owner, "alice");
}
