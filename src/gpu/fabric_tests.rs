use super::*;

fn link(n: u32, up: bool) -> NvLink {
    NvLink {
        link: n,
        up,
        version: Some(4),
        peer: Some(LinkPeer::NvSwitch),
        counters: LinkCounters::default(),
        since_start: LinkCounters::default(),
        rising: false,
    }
}

fn gpu(index: u32, down: &[u32], fabric: Option<GpuFabric>) -> GpuSample {
    let links = (0..MAX_LINKS).map(|n| link(n, !down.contains(&n))).collect();
    GpuSample { index, nvlink: Some(NvLinks { links, secs_since_start: 60 }), fabric, ..Default::default() }
}

fn done() -> Option<GpuFabric> {
    Some(GpuFabric { state: FabricState::Completed, error: None })
}

#[test]
fn a_healthy_nvswitch_node_has_no_problems() {
    let all: Vec<_> = (0..8).map(|i| gpu(i, &[], done())).collect();
    for g in &all {
        assert!(problems(g, &all).is_empty());
        assert_eq!(marker(g, &all), None);
    }
}

#[test]
fn a_link_down_is_a_warning_with_its_count() {
    let all = vec![gpu(0, &[], done()), gpu(1, &[5], done())];
    assert_eq!(problems(&all[1], &all), vec![FabricProblem::LinksDown { up: 17, expected: 18 }]);
    assert_eq!(worst(&all[1], &all), Some(Severity::Warning));
    assert_eq!(marker(&all[1], &all).as_deref(), Some("NVLink 17/18"));
    assert!(problems(&all[0], &all).is_empty());
}

#[test]
fn every_link_down_is_broken() {
    let all = vec![gpu(0, &[], done()), gpu(1, &(0..18).collect::<Vec<_>>(), done())];
    assert_eq!(worst(&all[1], &all), Some(Severity::Broken));
    assert_eq!(marker(&all[1], &all).as_deref(), Some("NVLink 0/18"));
}

#[test]
fn an_unfinished_fabric_is_broken_and_says_why() {
    for (state, words) in [(FabricState::NotStarted, "not started"), (FabricState::InProgress, "in progress")]
    {
        let all = vec![gpu(0, &[], Some(GpuFabric { state, error: None }))];
        let p = problems(&all[0], &all);
        assert_eq!(p, vec![FabricProblem::FabricNotReady(state)]);
        assert_eq!(p[0].severity(), Severity::Broken);
        assert!(p[0].reason().contains("Fabric Manager has not finished"), "{}", p[0].reason());
        assert_eq!(marker(&all[0], &all), Some(format!("fabric: {words}")));
    }
    let failed =
        vec![gpu(0, &[], Some(GpuFabric { state: FabricState::Completed, error: Some("x".into()) }))];
    assert_eq!(worst(&failed[0], &failed), Some(Severity::Broken));
}

#[test]
fn rising_errors_warn_and_rates_are_per_minute() {
    let mut g = gpu(0, &[], done());
    let links = g.nvlink.as_mut().expect("links");
    links.links[2].rising = true;
    links.links[2].since_start.crc_flit = Some(30);
    let all = vec![g];
    assert_eq!(problems(&all[0], &all), vec![FabricProblem::ErrorsRising { link: 2 }]);
    assert_eq!(marker(&all[0], &all).as_deref(), Some("NVLink errors"));
    let l = all[0].nvlink.as_ref().expect("links");
    assert_eq!(l.rate_per_min(&l.links[2], LinkCounter::CrcFlit), Some(30.0));
}

#[test]
fn a_pcie_gpu_has_nothing() {
    let all = vec![GpuSample::default()];
    assert!(problems(&all[0], &all).is_empty());
    assert_eq!(marker(&all[0], &all), None);
}

#[test]
fn counters_since_a_reset_count_from_zero() {
    let now = LinkCounters { replay: Some(5), crc_flit: Some(2), ..Default::default() };
    let base = LinkCounters { replay: Some(3), crc_flit: Some(9), ..Default::default() };
    let d = now.since(&base);
    assert_eq!((d.replay, d.crc_flit, d.crc_data), (Some(2), Some(2), None));
}

#[test]
fn the_state_model_calls_a_gpu_with_an_unready_fabric_or_every_link_down_broken() {
    use crate::gpu::state::{State, assess};
    let mut waiting = gpu(0, &[], done());
    if let Some(f) = waiting.fabric.as_mut() {
        f.state = FabricState::InProgress;
    }
    let a = assess(&waiting, []);
    assert_eq!(a.state, State::Broken, "{a:?}");
    assert!(a.faults().iter().any(|f| f.contains("multi-GPU jobs will hang")), "{a:?}");
    let all: Vec<u32> = (0..18).collect();
    assert_eq!(assess(&gpu(1, &all, done()), []).state, State::Broken);
    // A link down is slower, not broken: a warning on its own badge, the GPU stays usable.
    assert_ne!(assess(&gpu(2, &[7], done()), []).state, State::Broken);
    assert_ne!(assess(&gpu(3, &[], done()), []).state, State::Broken);
}
