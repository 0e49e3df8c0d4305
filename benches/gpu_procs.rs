//! The per-process stage of the GPU sampler with real processes: N `sleep`s this bench starts,
//! listed by the fake driver (tests/fake_nvml) as compute processes spread over 8 GPUs, so that
//! /proc is read for each as it is on a node. `nvml_tick`'s processes are PIDs no process has,
//! which /proc never shows: there the per-process path stops at the first failed read.
//!
//! Half of the processes are "in a container" when the bench can make cgroups (root, cgroup
//! v1): each such container is a memory cgroup named by a 64-hex ID holding an init `sleep` and
//! the GPU process, published as the local engine's listing would be, so the identity lookup
//! runs the cgroup read, the membership check against the init process and the owner lookup.
//! The other half are host processes. Without cgroups every process is a host process (the
//! bench says so).
//!
//! Measured at N = 8 and N = 64, then the per-process cost (64 minus 8, over 56) is printed:
//! - one whole `NvmlBackend::sample`, steady state (identities and command lines cached);
//! - the host-figures stage alone (`HostProcs::sample`: stat, status and uptime per process);
//! - one whole sample in which every process is new: two sets of N processes take turns in the
//!   driver's list, so each sample looks up every identity and command line afresh. The switch
//!   between the sets (and the fake's re-parse of its config) happens outside the timed part.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use gpudock::docker::membership;
use gpudock::gpu::hostproc::HostProcs;
use gpudock::gpu::nvml::{NvmlBackend, open_library, release};

#[path = "common/fake_nvml.rs"]
mod fake_nvml;

const SIZES: [usize; 2] = [8, 64];
const GROUP: &str = "gpu_procs";
const CGROUP_ROOT: &str = "/sys/fs/cgroup/memory";

/// Real processes and the cgroups they were put in; all killed and removed on drop.
#[derive(Default)]
struct Procs {
    children: Vec<Child>,
    cgroups: Vec<PathBuf>,
    /// The PIDs the driver lists, in order.
    gpu: Vec<u32>,
    /// Fake container ID → its init process.
    inits: HashMap<String, u32>,
}

impl Procs {
    fn sleep(&mut self) -> u32 {
        let child = Command::new("sleep").arg("600").spawn().unwrap_or_else(|e| panic!("sleep: {e}"));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// `n` GPU processes; with `parent` (a cgroup directory this bench made), every other one
    /// in a container of its own.
    fn spawn(&mut self, n: usize, parent: Option<&Path>, tag: usize) {
        for k in 0..n {
            let container = parent.filter(|_| k % 2 == 0);
            let Some(parent) = container else {
                let pid = self.sleep();
                self.gpu.push(pid);
                continue;
            };
            let id = format!("{:032x}{:032x}", std::process::id(), tag * 1000 + k);
            let dir = parent.join(&id);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            self.cgroups.push(dir.clone());
            let (init, pid) = (self.sleep(), self.sleep());
            for p in [init, pid] {
                std::fs::write(dir.join("cgroup.procs"), p.to_string())
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            }
            self.inits.insert(id, init);
            self.gpu.push(pid);
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A cgroup can go once its processes have left it.
        for dir in &self.cgroups {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The parent cgroup of the bench's containers, removed on drop; None where cgroups cannot be
/// made (not root, or no cgroup v1 memory hierarchy).
struct Parent(PathBuf);

impl Parent {
    fn make() -> Result<Parent, String> {
        let dir = Path::new(CGROUP_ROOT).join(format!("gpudock-bench-procs-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Parent(dir))
    }
}

impl Drop for Parent {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// 8 GPUs with health fields, and `pids` as compute processes spread over them.
fn config(pids: &[u32]) -> String {
    let mut text = fake_nvml::gpus();
    for (k, pid) in pids.iter().enumerate() {
        text.push_str(&format!("proc {} pid={pid} used=1073741824 sm={}\n", k % 8, k % 90));
    }
    text
}

fn use_config(path: &Path) {
    // SAFETY: the bench is single-threaded; the fake driver reads the variable on its calls.
    unsafe { std::env::set_var("FAKE_NVML_CONFIG", path) };
}

/// Every process of the snapshot was found in /proc, and the container ones confirmed.
fn check(backend: &mut NvmlBackend, set: &Procs) {
    let snap = backend.sample(0).unwrap_or_else(|e| panic!("{e}"));
    let procs: Vec<_> = snap.gpus.iter().flat_map(|g| &g.processes).collect();
    assert_eq!(procs.len(), set.gpu.len(), "the driver lists every process");
    assert!(procs.iter().all(|p| p.host.is_some()), "/proc shows every process");
    let contained = procs.iter().filter(|p| p.container_id.is_some()).count();
    let expected = set.gpu.len() - set.gpu.len() / 2;
    assert_eq!(contained, if set.inits.is_empty() { 0 } else { expected }, "container processes confirmed");
}

fn bench(c: &mut Criterion, dir: &Path, lib: &Path, parent: Option<&Path>) {
    let mut group = c.benchmark_group(GROUP);
    for (tag, n) in SIZES.into_iter().enumerate() {
        // Two sets that take turns in the "every process new" bench.
        let mut sets = [Procs::default(), Procs::default()];
        for (s, set) in sets.iter_mut().enumerate() {
            set.spawn(n, parent, tag * 2 + s);
        }
        membership::publish(sets.iter().flat_map(|s| s.inits.clone()).collect());
        let cfgs: Vec<PathBuf> = sets
            .iter()
            .enumerate()
            .map(|(s, set)| {
                let path = dir.join(format!("procs-{n}-{s}.conf"));
                std::fs::write(&path, config(&set.gpu)).unwrap_or_else(|e| panic!("{e}"));
                path
            })
            .collect();

        use_config(&cfgs[0]);
        let mut backend = NvmlBackend::open(Some(lib)).unwrap_or_else(|e| panic!("{e}"));
        check(&mut backend, &sets[0]);
        let mut at = 1_795_958_337;
        group.bench_function(BenchmarkId::new("sample_steady", n), |b| {
            b.iter(|| {
                at += 1;
                black_box(backend.sample(at).unwrap_or_else(|e| panic!("{e}")))
            })
        });

        let pids: HashSet<u32> = sets[0].gpu.iter().copied().collect();
        let mut hosts = HostProcs::new(PathBuf::from("/proc"));
        assert_eq!(hosts.sample(&pids, Instant::now()).len(), n, "/proc shows every process");
        group.bench_function(BenchmarkId::new("host_figures", n), |b| {
            b.iter(|| black_box(hosts.sample(black_box(&pids), Instant::now())))
        });

        // A second handle on the same (once-loaded) library: its call makes the fake re-read the
        // switched config outside the timed part.
        let (nudge, _) = open_library(Some(lib)).unwrap_or_else(|e| panic!("{e}"));
        let mut turn = 0usize;
        group.bench_function(BenchmarkId::new("sample_all_new", n), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    turn += 1;
                    use_config(&cfgs[turn % 2]);
                    black_box(nudge.device_count().unwrap_or_else(|e| panic!("{e}")));
                    at += 1;
                    let start = Instant::now();
                    black_box(backend.sample(at).unwrap_or_else(|e| panic!("{e}")));
                    spent += start.elapsed();
                }
                spent
            })
        });
        use_config(&cfgs[turn % 2]);
        check(&mut backend, &sets[turn % 2]);
        release(nudge);
        drop(backend);
    }
    group.finish();
}

/// Criterion's median of `function` at `n`, in µs, from the estimates it wrote; None when it
/// wrote none (`cargo test --benches`, or a filter that skipped it).
fn median_us(function: &str, n: usize) -> Option<f64> {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path =
        base.join("criterion").join(GROUP).join(function).join(n.to_string()).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(json["median"]["point_estimate"].as_f64()? / 1000.0)
}

fn per_process() {
    let [small, big] = SIZES;
    println!("\nper process ({big} minus {small}, over {}):", big - small);
    for function in ["sample_steady", "host_figures", "sample_all_new"] {
        match (median_us(function, small), median_us(function, big)) {
            (Some(a), Some(b)) => println!(
                "  {function:<15} N={small}: {a:9.1} µs   N={big}: {b:9.1} µs   per process: {:6.2} µs",
                (b - a) / (big - small) as f64
            ),
            _ => println!("  {function:<15} not measured in this run"),
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-gpu-procs");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let lib = fake_nvml::lib(&dir);
    let parent = match Parent::make() {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("no container cgroups ({e}): every GPU process is a host process");
            None
        }
    };
    bench(&mut c, &dir, &lib, parent.as_ref().map(|p| p.0.as_path()));
    c.final_summary();
    per_process();
}
