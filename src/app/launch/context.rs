//! What validation needs from outside the form, built from the app's latest state, and the
//! `docker run` line the form would launch now.

use super::{LaunchForm, gpus};
use crate::config::Preset;

/// Facts from outside the form that validation needs.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub presets: &'a [Preset],
    /// (index, uuid) of the host's GPUs; None when NVML is unavailable.
    pub gpus: Option<&'a [(u32, &'a str)]>,
    pub taken_names: &'a [&'a str],
    /// CUDA version the driver supports ("12.4"), when known.
    pub driver_cuda: Option<&'a str>,
    pub user: &'a str,
    /// The GPUs as `free:N` candidates (state model, XIDs included); None without NVML.
    pub candidates: Option<&'a crate::gpu::pick::Candidates>,
    /// Host ports the listed containers publish.
    pub published: &'a [crate::docker::ports::Published],
}

/// Calls `f` with the validation context built from the app's latest state.
pub fn with_context<R>(
    presets: &[Preset],
    gpu: &crate::app::gpu::GpuState,
    table: &crate::app::table::ContainerTable,
    user: &str,
    f: impl FnOnce(&Context) -> R,
) -> R {
    let ids = gpu.ids();
    let names: Vec<&str> = table.all().iter().map(|c| c.name.as_str()).collect();
    let cuda = gpu.snapshot.as_ref().and_then(|s| s.cuda_version.clone());
    let candidates = gpus::candidates(gpu, table);
    let published: Vec<_> = table.all().iter().flat_map(|c| c.published.iter().cloned()).collect();
    let ctx = Context {
        presets,
        gpus: (!ids.is_empty()).then_some(ids.as_slice()),
        taken_names: &names,
        driver_cuda: cuda.as_deref(),
        user,
        candidates: candidates.as_ref(),
        published: &published,
    };
    f(&ctx)
}

/// The `docker run` line the form would launch now (what `gpudock run --dry-run` prints), or
/// None while a field is invalid.
pub fn preview(form: &LaunchForm, ctx: &Context) -> Option<String> {
    let spec = form.clone().validate(ctx)?;
    Some(crate::docker::run_argv::shell_line(&crate::docker::run_argv::argv(&spec, false)))
}
