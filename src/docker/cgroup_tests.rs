//! Tests of `docker::cgroup`, against fake cgroup trees.

use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap_or(root)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(p, text).unwrap_or_else(|e| panic!("{e}"));
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gpudock-cg-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A cgroup v2 container `id` under system.slice holding `pid`, with its four counter files;
/// its directory (relative to `root`).
fn v2_container(root: &Path, pid: u32, id: &str, cpu_usec: u64, current: u64, inactive: u64) -> String {
    let dir = format!("sys/system.slice/docker-{id}.scope");
    write(root, &format!("proc/{pid}/cgroup"), &format!("0::/system.slice/docker-{id}.scope\n"));
    write(root, &format!("{dir}/cpu.stat"), &format!("usage_usec {cpu_usec}\n"));
    write(root, &format!("{dir}/memory.current"), &format!("{current}\n"));
    write(root, &format!("{dir}/memory.stat"), &format!("inactive_file {inactive}\n"));
    write(root, &format!("{dir}/memory.max"), "max\n");
    dir
}

#[test]
fn reads_v1_cgroupfs_counters() {
    let root = tmp("v1");
    let id = "a".repeat(64);
    write(
        &root,
        "proc/42/cgroup",
        &format!("4:memory:/docker/{id}\n2:cpuacct:/docker/{id}\n0::/docker/{id}\n"),
    );
    write(&root, &format!("sys/cpuacct/docker/{id}/cpuacct.usage"), "5000000000\n");
    write(&root, &format!("sys/memory/docker/{id}/memory.usage_in_bytes"), "3000\n");
    write(
        &root,
        &format!("sys/memory/docker/{id}/memory.stat"),
        "inactive_file 5\ntotal_inactive_file 1000\n",
    );
    write(&root, &format!("sys/memory/docker/{id}/memory.limit_in_bytes"), "9223372036854771712\n");
    let r = CgroupReader::new(root.join("proc"), root.join("sys"));
    let paths = r.resolve(42, &id).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(paths, CgroupPaths::V1 { .. }));
    let s = r.read(&paths).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s, CgroupSample { cpu_usage_ns: 5_000_000_000, mem_used: 2000, mem_limit: None });
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn reads_v2_systemd_counters_and_joint_v1_mounts() {
    let root = tmp("v2");
    let id = "b".repeat(64);
    let dir = format!("sys/system.slice/docker-{id}.scope");
    write(&root, "proc/7/cgroup", &format!("0::/system.slice/docker-{id}.scope\n"));
    write(&root, &format!("{dir}/cpu.stat"), "usage_usec 1500\nuser_usec 1000\n");
    write(&root, &format!("{dir}/memory.current"), "4096\n");
    write(&root, &format!("{dir}/memory.stat"), "anon 1\ninactive_file 96\n");
    write(&root, &format!("{dir}/memory.max"), "1048576\n");
    let r = CgroupReader::new(root.join("proc"), root.join("sys"));
    let s = r.resolve(7, &id).and_then(|p| r.read(&p)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s, CgroupSample { cpu_usage_ns: 1_500_000, mem_used: 4000, mem_limit: Some(1048576) });

    write(&root, "proc/8/cgroup", &format!("3:cpu,cpuacct:/docker/{id}\n4:memory:/docker/{id}\n"));
    write(&root, &format!("sys/cpu,cpuacct/docker/{id}/cpuacct.usage"), "1\n");
    let p = r.resolve(8, &id).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p,
        CgroupPaths::V1 {
            memory: root.join(format!("sys/memory/docker/{id}")),
            cpuacct: root.join(format!("sys/cpu,cpuacct/docker/{id}")),
        }
    );
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_cgroup_of_another_container_is_not_read() {
    let root = tmp("reuse");
    let (id, other) = ("c".repeat(64), "d".repeat(64));
    write(&root, "proc/9/cgroup", &format!("0::/docker/{other}\n"));
    write(&root, "proc/10/cgroup", "0::/user.slice/session-1.scope\n");
    let r = CgroupReader::new(root.join("proc"), root.join("sys"));
    for pid in [9, 10] {
        let err = r.resolve(pid, &id).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("is not in container cccccccccccc"), "{err}");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn memory_stat_is_read_again_when_the_usage_moves_or_it_grows_old() {
    let root = tmp("slow");
    let id = "e".repeat(64);
    let dir = v2_container(&root, 11, &id, 1, 10_000_000, 1_000_000);
    let r = CgroupReader::new(root.join("proc"), root.join("sys"));
    let mut files = r.resolve(11, &id).and_then(|p| r.open(&p)).unwrap_or_else(|e| panic!("{e}"));
    let mut buf = String::new();
    let mut used = || files.read(&mut buf).map(|s| s.mem_used).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(used(), 9_000_000);
    // Pages aged to inactive, the usage stood still: the old figure stands for a while.
    write(&root, &format!("{dir}/memory.stat"), "inactive_file 2000000\n");
    assert_eq!(used(), 9_000_000);
    // The container ran and its usage moved by more than SLOW_MOVED: read again at once.
    write(&root, &format!("{dir}/cpu.stat"), "usage_usec 2\n");
    write(&root, &format!("{dir}/memory.current"), "12000000\n");
    assert_eq!(used(), 10_000_000);
    // A small move keeps the figure; SLOW_EVERY readings later it is read anyway.
    write(&root, &format!("{dir}/cpu.stat"), "usage_usec 3\n");
    write(&root, &format!("{dir}/memory.current"), "12004096\n");
    write(&root, &format!("{dir}/memory.stat"), "inactive_file 3000000\n");
    assert_eq!(used(), 10_004_096);
    let later: Vec<u64> = (1..SLOW_EVERY).map(|_| used()).collect();
    assert_eq!(later.last(), Some(&9_004_096), "{later:?}");
    assert!(later[..later.len() - 1].iter().all(|u| *u == 10_004_096), "{later:?}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn an_idle_containers_usage_is_read_with_the_slow_files_only() {
    let root = tmp("idle");
    let id = "f".repeat(64);
    let dir = v2_container(&root, 12, &id, 5, 10_000_000, 0);
    let r = CgroupReader::new(root.join("proc"), root.join("sys"));
    let mut files = r.resolve(12, &id).and_then(|p| r.open(&p)).unwrap_or_else(|e| panic!("{e}"));
    let mut buf = String::new();
    let mut used = || files.read(&mut buf).map(|s| s.mem_used).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(used(), 10_000_000);
    // The kernel reclaimed pages while the container ran nothing: seen with the slow files.
    write(&root, &format!("{dir}/memory.current"), "8000000\n");
    let idle: Vec<u64> = (0..SLOW_EVERY).map(|_| used()).collect();
    assert!(idle[..idle.len() - 1].iter().all(|u| *u == 10_000_000), "{idle:?}");
    assert_eq!(idle.last(), Some(&8_000_000), "{idle:?}");
    // Any CPU time reads the usage at once.
    write(&root, &format!("{dir}/cpu.stat"), "usage_usec 6\n");
    write(&root, &format!("{dir}/memory.current"), "8100000\n");
    assert_eq!(used(), 8_100_000);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn containers_opened_one_after_another_read_their_slow_files_on_different_ticks() {
    let root = tmp("phase");
    let id = "e".repeat(64);
    let dir = v2_container(&root, 13, &id, 5, 10_000_000, 0);
    let r = CgroupReader::new(root.join("proc"), root.join("sys"));
    let paths = r.resolve(13, &id).unwrap_or_else(|e| panic!("{e}"));
    // The tick (counting from 1) on which a container's idle reading first sees a change
    // to its usage made after its first reading: the tick of its first slow read.
    let first_slow_tick = |phase: usize| {
        write(&root, &format!("{dir}/memory.current"), "10000000\n");
        let mut files = r.open(&paths).unwrap_or_else(|e| panic!("{e}")).with_phase(phase);
        let mut buf = String::new();
        let mut used = || files.read(&mut buf).map(|s| s.mem_used).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(used(), 10_000_000);
        write(&root, &format!("{dir}/memory.current"), "8000000\n");
        (1..=SLOW_EVERY).find(|_| used() == 8_000_000)
    };
    let ticks: Vec<Option<u32>> = (0..SLOW_EVERY as usize).map(first_slow_tick).collect();
    let want: Vec<Option<u32>> = (0..SLOW_EVERY).map(|p| Some(SLOW_EVERY - p)).collect();
    assert_eq!(ticks, want, "each phase reads its slow files on a tick of its own");
    assert_eq!(first_slow_tick(SLOW_EVERY as usize + 3), Some(SLOW_EVERY - 3), "modulo SLOW_EVERY");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn cpu_percent_is_per_core() {
    assert_eq!(cpu_percent(0, 500_000_000, 1_000_000_000), Some(50.0));
    assert_eq!(cpu_percent(0, 2_000_000_000, 1_000_000_000), Some(200.0));
    assert_eq!(cpu_percent(10, 5, 1_000), None);
}
