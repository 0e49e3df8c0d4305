//! Per-container history for the detail view's charts: GPU memory, SM %, CPU % and memory of
//! every listed container, one sample per sampling beat, bounded.
//!
//! The engine's stats and the GPU snapshot of one beat arrive as two messages, in either order.
//! Each message rewrites the newest sample from the state as it now stands, and a source that
//! already wrote the newest sample starts the next one: one sample per beat, holding both
//! readings, and still one per beat when only one source is alive (no NVML).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::docker::{Container, ContainerId, ContainerStats};
use crate::gpu::ContainerGpuUsage;

/// Samples kept per container: fills the widest chart of a 200-column terminal, and keeps 500
/// containers under 1 MiB (see `heap_bytes` and its test).
pub const LEN: usize = 200;

/// Who sent the readings being recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// CPU and memory, from the engine's stats.
    Engine,
    /// GPU memory and SM, from NVML.
    Gpu,
}

/// A reading in 16 bits: the top half of an f32 (bfloat16). Two to three significant digits
/// over any range, plenty for a chart a few rows tall, at a quarter of an f64's size; the
/// exact latest values are drawn from the live state, not from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Compact(u16);

impl Compact {
    /// A NaN: no reading.
    const UNKNOWN: Compact = Compact(0x7FC0);

    fn new(v: Option<f64>) -> Compact {
        let Some(v) = v.filter(|v| v.is_finite()) else { return Compact::UNKNOWN };
        // Far above any real reading; keeps the rounding below from reaching infinity.
        let bits = (v.clamp(0.0, 1e30) as f32).to_bits();
        // Round to nearest, ties to even, rather than truncate: truncation always reads low.
        let rounded = bits + 0x7FFF + ((bits >> 16) & 1);
        Compact((rounded >> 16) as u16)
    }

    fn get(self) -> Option<f64> {
        let f = f32::from_bits(u32::from(self.0) << 16);
        (!f.is_nan()).then_some(f64::from(f))
    }
}

/// One container at one beat. None: no reading (not running, no NVML, the driver does not
/// report per-process SM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    gpu_memory: Compact,
    sm_percent: Compact,
    cpu_percent: Compact,
    memory: Compact,
}

impl Sample {
    pub fn new(
        gpu_memory: Option<u64>,
        sm_percent: Option<u32>,
        cpu_percent: Option<f64>,
        memory: Option<u64>,
    ) -> Sample {
        Sample {
            gpu_memory: Compact::new(gpu_memory.map(|b| b as f64)),
            sm_percent: Compact::new(sm_percent.map(f64::from)),
            cpu_percent: Compact::new(cpu_percent),
            memory: Compact::new(memory.map(|b| b as f64)),
        }
    }

    /// Bytes.
    pub fn gpu_memory(&self) -> Option<u64> {
        self.gpu_memory.get().map(|v| v as u64)
    }

    pub fn sm_percent(&self) -> Option<f64> {
        self.sm_percent.get()
    }

    pub fn cpu_percent(&self) -> Option<f64> {
        self.cpu_percent.get()
    }

    /// Bytes.
    pub fn memory(&self) -> Option<u64> {
        self.memory.get().map(|v| v as u64)
    }
}

#[derive(Debug, Clone, Default)]
pub struct History {
    rings: HashMap<ContainerId, VecDeque<Sample>>,
    /// Which sources wrote the newest samples.
    wrote: [bool; 2],
}

impl History {
    /// Oldest first.
    pub fn of(&self, id: &str) -> Option<&VecDeque<Sample>> {
        self.rings.get(id)
    }

    pub fn len(&self) -> usize {
        self.rings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }

    /// Records the readings of `containers` after `source` sent new ones. `gpu` is None while
    /// NVML gives no figures (a GPU reading of 0 would be a lie then). Containers no longer
    /// listed are dropped.
    pub fn record(
        &mut self,
        source: Source,
        containers: &[Container],
        stats: &HashMap<ContainerId, ContainerStats>,
        gpu: Option<&HashMap<ContainerId, ContainerGpuUsage>>,
    ) {
        let slot = source as usize;
        let next_beat = self.wrote[slot];
        if next_beat {
            self.wrote = [false; 2];
        }
        self.wrote[slot] = true;
        for c in containers {
            let s = stats.get(&c.id);
            // Only a running container uses a GPU, whatever stale process NVML still lists.
            let usage = gpu.map(|g| g.get(&c.id).filter(|_| c.state.is_running()));
            let sample = Sample::new(
                usage.map(|u| u.map_or(0, |u| u.memory_used)),
                usage.flatten().and_then(|u| u.sm_percent),
                s.and_then(|s| s.cpu_percent),
                s.and_then(|s| s.mem_used),
            );
            // Looked up before inserting: cloning 500 IDs every beat would be the costliest part.
            let ring = match self.rings.get_mut(&c.id) {
                Some(r) => r,
                None => self.rings.entry(c.id.clone()).or_insert_with(|| VecDeque::with_capacity(LEN)),
            };
            match ring.back_mut() {
                Some(last) if !next_beat => *last = sample,
                _ => {
                    if ring.len() == LEN {
                        ring.pop_front();
                    }
                    ring.push_back(sample);
                }
            }
        }
        // Every listed container has its ring now: any more rings are of vanished ones.
        if self.rings.len() > containers.len() {
            self.prune(containers);
        }
    }

    /// Drops the history of containers that are gone.
    pub fn prune(&mut self, containers: &[Container]) {
        let live: HashSet<&str> = containers.iter().map(|c| c.id.as_str()).collect();
        self.rings.retain(|id, _| live.contains(id.as_str()));
    }

    /// What the history holds on the heap, estimated from its allocations: the samples, the
    /// IDs, and the map's slots (hashbrown keeps one control byte per slot and at most 7/8 of
    /// its slots full).
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(ContainerId, VecDeque<Sample>)>() + 1;
        let slots =
            if self.rings.capacity() == 0 { 0 } else { (self.rings.capacity() * 8 / 7).next_power_of_two() };
        let own: usize = self
            .rings
            .iter()
            .map(|(id, ring)| id.len() + ring.capacity() * std::mem::size_of::<Sample>())
            .sum();
        own + slots * slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::tests::container;
    use crate::docker::ContainerState;

    fn stats(cpu: f64, mem: u64) -> ContainerStats {
        ContainerStats { cpu_percent: Some(cpu), mem_used: Some(mem), mem_limit: None }
    }

    fn usage(mem: u64, sm: Option<u32>) -> ContainerGpuUsage {
        ContainerGpuUsage { memory_used: mem, sm_percent: sm, gpus: vec![0], sm_by_gpu: vec![sm] }
    }

    #[test]
    fn compact_values_keep_three_digits_and_unknown_stays_unknown() {
        for v in [0.0, 1.0, 387.5, 40.0 * f64::from(1u32 << 30), 12_345_678.0] {
            let got = Compact::new(Some(v)).get().unwrap_or(f64::NAN);
            assert!((got - v).abs() <= v * 0.004, "{v} became {got}");
        }
        assert_eq!(Compact::new(None).get(), None);
        assert_eq!(Compact::new(Some(f64::NAN)).get(), None);
        assert_eq!(Compact::new(Some(-3.0)).get(), Some(0.0));
        assert_eq!(std::mem::size_of::<Sample>(), 8);
    }

    #[test]
    fn one_sample_per_beat_whichever_source_comes_first() {
        let mut h = History::default();
        let list = vec![container("a", "a", ContainerState::Running)];
        let id = list[0].id.clone();
        let mut st = HashMap::from([(id.clone(), stats(10.0, 100))]);
        let mut gpu = HashMap::from([(id.clone(), usage(1 << 20, Some(50)))]);
        h.record(Source::Engine, &list, &st, Some(&gpu));
        h.record(Source::Gpu, &list, &st, Some(&gpu));
        assert_eq!(h.of(&id).map(VecDeque::len), Some(1), "two messages of one beat, one sample");
        // The next beat, GPU first this time: its sample holds both new readings.
        gpu.insert(id.clone(), usage(2 << 20, None));
        h.record(Source::Gpu, &list, &st, Some(&gpu));
        st.insert(id.clone(), stats(20.0, 200));
        h.record(Source::Engine, &list, &st, Some(&gpu));
        let ring = h.of(&id).cloned().unwrap_or_default();
        assert_eq!(ring.len(), 2);
        let last = ring[1];
        assert_eq!(last.gpu_memory(), Some(2 << 20));
        assert_eq!(last.sm_percent(), None, "no SM reading is no reading, not 0");
        assert_eq!(last.cpu_percent(), Some(20.0));
        assert_eq!(last.memory(), Some(200));
        assert_eq!(ring[0].sm_percent(), Some(50.0));
        // Only the engine alive (no NVML): still one sample per beat, GPU figures unknown.
        for _ in 0..3 {
            h.record(Source::Engine, &list, &st, None);
        }
        let ring = h.of(&id).cloned().unwrap_or_default();
        assert_eq!(ring.len(), 5);
        assert_eq!(ring[4].gpu_memory(), None);
    }

    #[test]
    fn a_stopped_container_uses_no_gpu_and_has_no_stats() {
        let mut h = History::default();
        let list = vec![container("a", "a", ContainerState::Exited)];
        let gpu = HashMap::from([(list[0].id.clone(), usage(5 << 20, Some(9)))]);
        h.record(Source::Gpu, &list, &HashMap::new(), Some(&gpu));
        let s =
            h.of(&list[0].id).and_then(|r| r.back().copied()).unwrap_or(Sample::new(None, None, None, None));
        assert_eq!((s.gpu_memory(), s.sm_percent(), s.cpu_percent()), (Some(0), None, None));
    }

    #[test]
    fn rings_are_bounded_and_vanished_containers_dropped() {
        let mut h = History::default();
        let mut list =
            vec![container("a", "a", ContainerState::Running), container("b", "b", ContainerState::Running)];
        for _ in 0..LEN + 50 {
            h.record(Source::Engine, &list, &HashMap::new(), None);
        }
        assert_eq!(h.of(&list[0].id).map(VecDeque::len), Some(LEN));
        assert!(h.of(&list[0].id).is_some_and(|r| r.capacity() == LEN), "no growth past the cap");
        let gone = list.remove(1);
        h.prune(&list);
        assert!(h.of(&gone.id).is_none());
        assert_eq!(h.len(), 1);
        h.record(Source::Engine, &[], &HashMap::new(), None);
        assert!(h.is_empty(), "an empty listing (engine down) keeps nothing");
    }

    #[test]
    fn five_hundred_full_histories_fit_in_one_mib() {
        let mut h = History::default();
        let list: Vec<Container> = (0..500)
            .map(|i| container(&format!("{i:x}"), &format!("c{i}"), ContainerState::Running))
            .collect();
        for _ in 0..LEN + 1 {
            h.record(Source::Engine, &list, &HashMap::new(), None);
        }
        let bytes = h.heap_bytes();
        eprintln!("history of 500 containers x {LEN} samples: {bytes} bytes");
        assert!(bytes <= 1 << 20, "{bytes} bytes");
        assert!(bytes >= 500 * LEN * 8, "the estimate counts the samples: {bytes}");
    }
}
