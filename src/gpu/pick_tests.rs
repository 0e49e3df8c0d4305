use super::*;

fn gpu(index: u32, temp: u32, util: u32) -> Candidate {
    Candidate { index, temperature_c: Some(temp), util_percent: Some(util), ..Default::default() }
}

fn ix(p: Result<Pick, Refusal>) -> Vec<u32> {
    p.unwrap_or_else(|r| panic!("{r}")).gpus
}

#[test]
fn coolest_and_least_used_free_gpus_first_and_never_a_broken_or_held_one() {
    let gpus = vec![
        Candidate { holders: vec!["alice-train".into()], ..gpu(0, 30, 0) },
        Candidate { broken: Some("uncorrected ECC errors since the last reset".into()), ..gpu(1, 25, 0) },
        gpu(2, 60, 5),
        gpu(3, 40, 0),
        gpu(4, 40, 0),
    ];
    let none = Joins::default();
    let one = pick(1, &gpus, &none).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(one.gpus, [3]);
    assert_eq!(one.to_string(), "GPU 3: coolest and least used (40 °C, 0 %)");
    let three = pick(3, &gpus, &none).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(three.gpus, [3, 4, 2]);
    assert_eq!(three.to_string(), "GPUs 3,4,2: coolest and least used (topology unknown)");
    let no = pick(4, &gpus, &none).err().unwrap_or_else(|| panic!("4 of 3 free"));
    assert_eq!(no.free, [2, 3, 4]);
    let text = no.to_string();
    assert!(
        text.contains("3 GPUs are free (GPUs 2, 3, 4)")
            && text.contains("GPU 0 is held by alice-train")
            && text.contains("GPU 1 is broken (uncorrected ECC"),
        "{text}"
    );
}

/// An HGX-style node without NVSwitches: two quads of 4 GPUs, each pair of a quad joined by 4
/// NVLinks, the quads on different NUMA nodes.
fn two_quads() -> Joins {
    let mut j = Joins::default();
    for a in 0..8u32 {
        for b in 0..8u32 {
            if a == b {
                continue;
            }
            let same = a / 4 == b / 4;
            if same && a < b {
                j.nvlinks.push((a, b, 4));
            }
            let level = if same { TopoLevel::Node } else { TopoLevel::System };
            j.levels.push((a, b, level));
        }
    }
    j
}

#[test]
fn two_nvlink_quads_a_pick_stays_inside_one_and_takes_a_whole_free_quad() {
    // GPU 5 is the coolest; then 0, 1, 2…
    let gpus: Vec<Candidate> = (0..8).map(|i| gpu(i, if i == 5 { 30 } else { 40 + i }, 0)).collect();
    let j = two_quads();
    let two = pick(2, &gpus, &j).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(two.gpus, [5, 4], "the coolest GPU and the best of its quad");
    assert_eq!(two.to_string(), "GPUs 5,4: joined by 4 NVLinks");
    let mut four = ix(pick(4, &gpus, &j));
    four.sort_unstable();
    assert_eq!(four, [4, 5, 6, 7]);
    assert_eq!(
        pick(4, &gpus, &j).map(|p| p.to_string()),
        Ok("GPUs 5,4,6,7: every pair joined by NVLink (4 or more)".into())
    );
    // One GPU of GPU 5's quad held: its quad can no longer take four, the other one can.
    let mut held = gpus.clone();
    held[6].holders = vec!["bob-train".into()];
    assert_eq!(ix(pick(4, &held, &j)), [0, 1, 2, 3]);
    // Two still fit beside the coolest.
    assert_eq!(ix(pick(2, &held, &j)), [5, 4]);
    // Six cannot stay in one quad: the rest comes from the other, and the reason says so.
    let six = pick(6, &gpus, &j).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(six.gpus, [5, 4, 6, 7, 0, 1]);
    assert_eq!(
        six.to_string(),
        "GPUs 5,4,6,7,0,1: no NVLink island holds 6; at worst across NUMA nodes (SYS)"
    );
}

#[test]
fn a_pcie_only_node_pairs_gpus_behind_one_switch_first() {
    // Two GPUs per switch, two switches per host bridge, two host bridges per NUMA node.
    let level = |a: u32, b: u32| match (a / 2 == b / 2, a / 4 == b / 4) {
        (true, _) => TopoLevel::Single,
        (false, true) => TopoLevel::HostBridge,
        (false, false) => TopoLevel::System,
    };
    let mut j = Joins::default();
    for a in 0..8 {
        for b in (0..8).filter(|&b| b != a) {
            j.levels.push((a, b, level(a, b)));
        }
    }
    // GPU 2 is the coolest; GPU 3 (its switch partner) the hottest.
    let gpus: Vec<Candidate> =
        (0..8).map(|i| gpu(i, [40, 41, 30, 60, 42, 43, 44, 45][i as usize], 0)).collect();
    let two = pick(2, &gpus, &j).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(two.gpus, [2, 3]);
    assert_eq!(two.to_string(), "GPUs 2,3: same PCIe switch (PIX)");
    // GPU 3 held: a whole free switch beats the coolest GPU with a stranger.
    let mut held = gpus.clone();
    held[3].holders = vec!["carol-nb".into()];
    let p = pick(2, &held, &j).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(
        (p.gpus.as_slice(), p.why),
        ([0, 1].as_slice(), Why::Pcie { farthest: TopoLevel::Single, partly_nvlinked: false })
    );
    let four = pick(4, &gpus, &j).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(four.gpus, [2, 3, 0, 1]);
    assert_eq!(four.to_string(), "GPUs 2,3,0,1: same PCIe host bridge (PHB)");
}

#[test]
fn unknown_topology_picks_by_preference() {
    let gpus: Vec<Candidate> = (0..4).map(|i| gpu(i, 50 - i, 0)).collect();
    let p = pick(2, &gpus, &Joins::default()).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!((p.gpus, p.why), (vec![3, 2], Why::Preference));
}

#[test]
fn on_an_nvswitch_node_every_pair_ties_and_the_nearest_pcie_path_decides() {
    // As the fake DGX node: two GPUs per PCIe switch, four per NUMA node.
    let mut j = Joins::default();
    for a in 0..8u32 {
        for b in (0..8).filter(|&b| b != a) {
            if a < b {
                j.nvlinks.push((a, b, 18));
            }
            let level = match (a / 2 == b / 2, a / 4 == b / 4) {
                (true, _) => TopoLevel::Single,
                (false, true) => TopoLevel::Node,
                (false, false) => TopoLevel::System,
            };
            j.levels.push((a, b, level));
        }
    }
    // Coolest first: 0, 3, 6, 1, 4, 7, 2, 5.
    let gpus: Vec<Candidate> = (0..8).map(|i| gpu(i, 40 + (i * 3) % 8, 0)).collect();
    let p = pick(2, &gpus, &j).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(p.gpus, [0, 1], "GPU 0's switch partner before the cooler GPU 3");
    assert_eq!(p.to_string(), "GPUs 0,1: joined by 18 NVLinks");
    assert_eq!(ix(pick(4, &gpus, &j)), [0, 1, 3, 2], "one NUMA node");
}

#[test]
fn picked_again_before_create_the_pick_stands_while_free_and_moves_when_taken() {
    let gpus: Vec<Candidate> = (0..6).map(|i| gpu(i, 40 + i, 0)).collect();
    let now = Candidates { gpus, joins: Joins::default() };
    // GPU 0 is cooler now than the GPU 3 the form showed: still, GPU 3 stands.
    assert_eq!(again(1, &[3], &now), Ok(Again::Kept));
    let mut taken = now.clone();
    taken.gpus[3].holders = vec!["bob-train".into()];
    taken.gpus[0].broken = Some("GPU lost".into());
    let Ok(Again::Moved { pick, text }) = again(1, &[3], &taken) else { panic!("not moved") };
    assert_eq!(pick.gpus, [1]);
    assert_eq!(
        text,
        "free:1 now picks GPU 1: coolest and least used (41 °C, 0 %), as GPU 3 was taken meanwhile \
         (held by bob-train)"
    );
    let Ok(Again::Moved { text, .. }) = again(2, &[0, 3], &taken) else { panic!("not moved") };
    assert!(text.contains("as GPU 0 broke meanwhile (GPU lost); GPU 3 was taken meanwhile"), "{text}");
    // No earlier pick: a pick, and nothing said of one.
    let Ok(Again::Moved { text, .. }) = again(1, &[], &now) else { panic!("not picked") };
    assert_eq!(text, "free:1 now picks GPU 0: coolest and least used (40 °C, 0 %)");
    // Nothing left to give: the refusal, naming who holds what.
    let mut full = taken.clone();
    for g in &mut full.gpus[1..] {
        g.holders = vec!["carol-nb".into()];
    }
    let no = again(1, &[3], &full).err().unwrap_or_else(|| panic!("met"));
    assert!(
        no.to_string().starts_with("free:1 cannot be met: no GPU is free; GPU 1 is held by carol-nb"),
        "{no}"
    );
}
