//! The container table's view state: which containers show (filter), in what order (sort), and
//! which one is selected. Selection follows the container, not the row number, so rows moving or
//! vanishing under the cursor do not make it jump to a stranger.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::config::SortKey;
use crate::docker::{Container, ContainerId, ContainerStats};
use crate::gpu::ContainerGpuUsage;

#[derive(Debug, Clone, Default)]
pub struct ContainerTable {
    all: Vec<Container>,
    /// Indices into `all` of the rows shown, in display order.
    rows: Vec<usize>,
    selected: usize,
    selected_id: Option<ContainerId>,
    pub sort: SortKey,
    pub reverse: bool,
    filter: String,
    /// A container to put the cursor on as soon as a listing contains it.
    pending_select: Option<String>,
    /// Only containers given or using this GPU: (index, uuid).
    gpu_filter: Option<(u32, String)>,
    /// Only this owner's containers (the owner's name; empty: owner unknown).
    owner_filter: Option<String>,
}

/// Per-container numbers the sort needs besides the container itself.
pub trait SortMetrics {
    fn stats(&self, id: &str) -> Option<&ContainerStats>;
    fn gpu_memory(&self, id: &str) -> u64;
    /// GPUs the container's processes are on.
    fn gpus_in_use(&self, id: &str) -> &[u32];
}

/// The figures the app holds, borrowed for one sort.
pub struct Metrics<'a> {
    pub stats: &'a HashMap<ContainerId, ContainerStats>,
    pub gpu: &'a HashMap<ContainerId, ContainerGpuUsage>,
}

impl SortMetrics for Metrics<'_> {
    fn stats(&self, id: &str) -> Option<&ContainerStats> {
        self.stats.get(id)
    }
    fn gpu_memory(&self, id: &str) -> u64 {
        self.gpu.get(id).map(|u| u.memory_used).unwrap_or(0)
    }
    fn gpus_in_use(&self, id: &str) -> &[u32] {
        self.gpu.get(id).map(|u| u.gpus.as_slice()).unwrap_or(&[])
    }
}

impl ContainerTable {
    pub fn new(sort: SortKey) -> ContainerTable {
        ContainerTable { sort, ..Default::default() }
    }

    pub fn all(&self) -> &[Container] {
        &self.all
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = &Container> + '_ {
        self.rows.iter().map(|&i| &self.all[i])
    }

    pub fn selected_index(&self) -> Option<usize> {
        (!self.rows.is_empty()).then_some(self.selected)
    }

    pub fn selected(&self) -> Option<&Container> {
        self.rows.get(self.selected).map(|&i| &self.all[i])
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn set_containers(&mut self, list: Vec<Container>, metrics: &dyn SortMetrics) {
        self.all = list;
        self.rebuild(metrics);
    }

    pub fn select_when_listed(&mut self, name: String) {
        self.pending_select = Some(name);
    }

    /// The index of the GPU the table is narrowed to.
    pub fn gpu_filter(&self) -> Option<u32> {
        self.gpu_filter.as_ref().map(|g| g.0)
    }

    /// Narrows the table to the containers that were given GPU `gpu` (index, uuid) or have
    /// processes on it.
    pub fn set_gpu_filter(&mut self, gpu: Option<(u32, String)>, metrics: &dyn SortMetrics) {
        self.gpu_filter = gpu;
        self.rebuild(metrics);
    }

    /// The owner the table is narrowed to (the Users view's Enter).
    pub fn owner_filter(&self) -> Option<&str> {
        self.owner_filter.as_deref()
    }

    pub fn set_owner_filter(&mut self, owner: Option<String>, metrics: &dyn SortMetrics) {
        self.owner_filter = owner;
        self.rebuild(metrics);
    }

    pub fn set_filter(&mut self, filter: String, metrics: &dyn SortMetrics) {
        self.filter = filter;
        self.rebuild(metrics);
    }

    pub fn set_sort(&mut self, sort: SortKey, reverse: bool, metrics: &dyn SortMetrics) {
        self.sort = sort;
        self.reverse = reverse;
        self.rebuild(metrics);
    }

    /// Moves the cursor by `delta` rows, clamped to the table.
    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            return;
        }
        let max = self.rows.len() as isize - 1;
        self.select((self.selected as isize + delta).clamp(0, max) as usize);
    }

    pub fn select(&mut self, row: usize) {
        if self.rows.is_empty() {
            self.selected = 0;
            self.selected_id = None;
            return;
        }
        self.selected = row.min(self.rows.len() - 1);
        self.selected_id = Some(self.all[self.rows[self.selected]].id.clone());
    }

    /// Re-applies filter and sort, then puts the cursor back on the same container; if that one
    /// is gone, on the row where it was (clamped), so removing a container keeps the cursor near.
    pub fn rebuild(&mut self, metrics: &dyn SortMetrics) {
        let needle = self.filter.to_lowercase();
        let gpu = self.gpu_filter.as_ref();
        self.rows = (0..self.all.len())
            .filter(|&i| gpu.is_none_or(|(index, uuid)| on_gpu(&self.all[i], *index, uuid, metrics)))
            .filter(|&i| self.owner_filter.as_deref().is_none_or(|o| self.all[i].owner.key() == o))
            .filter(|&i| {
                needle.is_empty() || {
                    let c = &self.all[i];
                    c.name.to_lowercase().contains(&needle) || c.image.to_lowercase().contains(&needle)
                }
            })
            .collect();
        let all = &self.all;
        let sort = self.sort;
        self.rows.sort_by(|&a, &b| compare(sort, &all[a], &all[b], metrics));
        if self.reverse {
            self.rows.reverse();
        }
        let again =
            self.selected_id.as_ref().and_then(|id| self.rows.iter().position(|&i| &self.all[i].id == id));
        self.select(again.unwrap_or(self.selected));
    }
}

/// `containers` in the order the dashboard lists them for `sort` (`snapshot` uses it).
pub fn dashboard_order(containers: &mut [Container], sort: SortKey, metrics: &dyn SortMetrics) {
    containers.sort_by(|a, b| compare(sort, a, b, metrics));
}

/// NVML can list a process after its container stopped: only a running container uses a GPU.
fn used_gpu_memory(c: &Container, m: &dyn SortMetrics) -> u64 {
    if c.state.is_running() { m.gpu_memory(&c.id) } else { 0 }
}

fn on_gpu(c: &Container, index: u32, uuid: &str, m: &dyn SortMetrics) -> bool {
    (c.state.is_running() && m.gpus_in_use(c.id.as_str()).contains(&index)) || c.gpus.covers(index, uuid)
}

fn compare(sort: SortKey, a: &Container, b: &Container, m: &dyn SortMetrics) -> Ordering {
    let by_name = || a.name.cmp(&b.name);
    // Bigger numbers first: the question is always "who uses the most".
    let desc_f = |x: Option<f64>, y: Option<f64>| y.unwrap_or(-1.0).total_cmp(&x.unwrap_or(-1.0));
    let primary = match sort {
        SortKey::State => a.state.cmp(&b.state),
        SortKey::Name => Ordering::Equal,
        SortKey::Image => a.image.cmp(&b.image),
        SortKey::Cpu => {
            desc_f(m.stats(&a.id).and_then(|s| s.cpu_percent), m.stats(&b.id).and_then(|s| s.cpu_percent))
        }
        SortKey::Memory => {
            m.stats(&b.id).and_then(|s| s.mem_used).cmp(&m.stats(&a.id).and_then(|s| s.mem_used))
        }
        // Longest running first.
        SortKey::Uptime => a.started_at.unwrap_or(i64::MAX).cmp(&b.started_at.unwrap_or(i64::MAX)),
        SortKey::GpuMemory => used_gpu_memory(b, m).cmp(&used_gpu_memory(a, m)),
    };
    primary.then_with(by_name).then_with(|| a.id.cmp(&b.id))
}
