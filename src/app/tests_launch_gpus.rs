//! The form's GPUs against the state model: what `free:N` picks (and refuses, naming who holds
//! the rest), and the question before launching on a broken GPU.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::launch::Field;
use super::*;
use crate::docker::ContainerState;
use crate::docker::gpus::{GpuRef, GpuRequest};
use crate::gpu::{GpuEvent, GpuProcess, GpuSample, GpuSnapshot};

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn type_text(a: &mut AppState, text: &str) {
    for c in text.chars() {
        a.update(key(KeyCode::Char(c)));
    }
}

/// GPU 0 broken (uncorrected ECC), 1 held by alice-train, 2 free but hot, 3 free and cool.
pub fn node() -> AppState {
    let mut a = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    let alice = super::tests::container("a1", "alice-train", ContainerState::Running);
    let alice_id = alice.id.clone();
    a.update(Msg::Engine(crate::docker::EngineEvent::Containers(vec![alice])));
    let gpu = |index: u32, temp: u32| GpuSample {
        index,
        uuid: format!("GPU-{index}"),
        temperature_c: Some(temp),
        util_gpu: Some(0),
        memory_used: Some(0),
        memory_total: Some(80 << 30),
        ..Default::default()
    };
    let mut broken = gpu(0, 30);
    // Unsorted: the coolest GPU of all is the broken one.
    broken.health.ecc_volatile.uncorrected = Some(2);
    let mut held = gpu(1, 35);
    held.memory_used = Some(30 << 30);
    held.processes = vec![GpuProcess {
        pid: 7,
        memory_used: Some(30 << 30),
        container_id: Some(alice_id),
        ..Default::default()
    }];
    let gpus = vec![broken, held, gpu(2, 70), gpu(3, 40)];
    a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, ..Default::default() })));
    a
}

/// Opens the form with an image and `gpus` typed, and presses Enter.
fn submit(a: &mut AppState, gpus: &str) -> Vec<Command> {
    a.update(key(KeyCode::Char('n')));
    type_text(a, "busybox");
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::Tab));
    type_text(a, gpus);
    a.update(key(KeyCode::Enter))
}

fn status(a: &AppState) -> String {
    a.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
}

#[test]
fn free_n_picks_the_coolest_free_gpu_never_the_broken_or_held_one() {
    let mut a = node();
    let cmds = submit(&mut a, "free:1");
    let [Command::Launch { spec }] = cmds.as_slice() else { panic!("{cmds:?} {:?}", a.mode) };
    assert_eq!(spec.gpus, GpuRequest::Devices(vec![GpuRef::Index(3)]));
    assert!(matches!(a.mode, Mode::Launching(_)));
    assert!(status(&a).contains("free:1 picks GPU 3: coolest and least used ("), "{}", status(&a));
    let Mode::Launching(l) = &a.mode else { unreachable!() };
    assert_eq!(l.pick.as_deref(), Some(status(&a).as_str()), "the progress view says it too");
}

#[test]
fn fewer_free_than_asked_is_refused_at_the_field_with_who_holds_the_rest() {
    let mut a = node();
    assert_eq!(submit(&mut a, "free:3"), Vec::new());
    let Mode::Launch(f) = &a.mode else { panic!("{:?}", a.mode) };
    let e = f.errors.get(&Field::Gpus).cloned().unwrap_or_default();
    assert!(
        e.contains("2 GPUs are free (GPUs 2, 3)")
            && e.contains("GPU 1 is held by alice-train")
            && e.contains("GPU 0 is broken (ECC uncorrected 2"),
        "{e}"
    );
    assert_eq!(f.gpus, "free:3", "the field stays as typed");
}

#[test]
fn naming_a_broken_gpu_asks_first_and_no_goes_back_to_the_form_as_typed() {
    for named in ["0,3", "GPU-0", "all", "2"] {
        let mut a = node();
        assert_eq!(submit(&mut a, named), Vec::new(), "{named}: nothing launches before the answer");
        let Mode::Confirm(c) = &a.mode else { panic!("{named}: {:?}", a.mode) };
        assert!(c.prompt.contains("GPU 0 is broken (ECC uncorrected 2"), "{}", c.prompt);
        assert!(!c.prompt.contains("GPU 3"), "{}", c.prompt);
        assert_eq!(a.update(key(KeyCode::Char('n'))), Vec::new());
        let Mode::Launch(f) = &a.mode else { panic!("{named}: back to the form: {:?}", a.mode) };
        assert_eq!((f.image.as_str(), f.gpus.as_str()), ("busybox", named));
    }
}

#[test]
fn yes_launches_on_the_broken_gpu_with_the_launch_progress_in_place_of_the_form() {
    let mut a = node();
    submit(&mut a, "device=0");
    let cmds = a.update(key(KeyCode::Char('y')));
    let [Command::Launch { spec }] = cmds.as_slice() else { panic!("{cmds:?}") };
    assert_eq!(spec.gpus, GpuRequest::Devices(vec![GpuRef::Index(0)]));
    assert!(matches!(a.mode, Mode::Launching(_)), "{:?}", a.mode);
    // Esc cancels back to the form; the question is not left under it.
    a.update(key(KeyCode::Esc));
    assert!(matches!(a.mode, Mode::Launch(_)));
    a.update(key(KeyCode::Esc));
    assert_eq!(a.mode, Mode::Normal);
    // A healthy GPU named explicitly launches without a question.
    let mut b = node();
    assert!(matches!(submit(&mut b, "device=3").as_slice(), [Command::Launch { .. }]));
}

#[test]
fn ports_are_checked_at_their_field_against_what_listed_containers_publish() {
    use crate::docker::ports::{Proto, Published};
    let mut a = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    let mut bob = super::tests::container("b1", "jupyter-bob", ContainerState::Running);
    bob.published = vec![Published {
        container: "jupyter-bob".into(),
        ip: None,
        port: 8888,
        proto: Proto::Tcp,
        container_port: 8888,
    }];
    a.update(Msg::Engine(crate::docker::EngineEvent::Containers(vec![bob])));
    let to_ports = |a: &mut AppState, ports: &str| {
        a.update(key(KeyCode::Char('n')));
        type_text(a, "busybox");
        while !matches!(&a.mode, Mode::Launch(f) if f.focus == Field::Ports) {
            a.update(key(KeyCode::Tab));
        }
        type_text(a, ports);
        a.update(key(KeyCode::Enter))
    };
    for (typed, why) in
        [("8888:8888", "already published by container jupyter-bob"), ("99999:1", "1 to 65535")]
    {
        assert_eq!(to_ports(&mut a, typed), Vec::new(), "{typed}");
        let Mode::Launch(f) = &a.mode else { panic!("{:?}", a.mode) };
        let e = f.errors.get(&Field::Ports).cloned().unwrap_or_default();
        assert!(e.contains(why), "{typed}: {e}");
        assert_eq!(f.focus, Field::Ports);
        a.update(key(KeyCode::Esc));
    }
    let cmds = to_ports(&mut a, "8889:8888, 127.0.0.1:6006:6006");
    let [Command::Launch { spec }] = cmds.as_slice() else { panic!("{cmds:?} {:?}", a.mode) };
    let ports: Vec<String> = spec.ports.iter().map(ToString::to_string).collect();
    assert_eq!(ports, ["8889:8888", "127.0.0.1:6006:6006"]);
}

#[test]
fn a_notebook_in_the_launched_containers_output_gives_its_tunnel_and_y_copies_it() {
    use crate::docker::LogLine;
    use crate::docker::logs::LogChunk;
    let mut a = node();
    a.hostname = "gpu-node-7".into();
    a.update(key(KeyCode::Char('n')));
    type_text(&mut a, "busybox");
    while !matches!(&a.mode, Mode::Launch(f) if f.focus == Field::Network) {
        a.update(key(KeyCode::Tab));
    }
    // engine default → none → host
    a.update(key(KeyCode::Right));
    a.update(key(KeyCode::Right));
    let cmds = a.update(key(KeyCode::Enter));
    assert!(matches!(cmds.as_slice(), [Command::Launch { .. }]), "{cmds:?}");
    let id = crate::docker::ContainerId::new("nb1");
    let launched = crate::docker::launch::Launched { id: id.clone(), name: "lab".into() };
    a.update(Msg::Action(crate::msg::ActionMsg::Launch(Ok(launched))));
    // Nothing to copy yet.
    assert_eq!(a.update(key(KeyCode::Char('y'))), Vec::new());
    assert!(status(&a).contains("nothing to copy"), "{}", status(&a));
    let line = "[I 2024-01-15 10:23:45.123 ServerApp] http://127.0.0.1:8888/lab?token=4f1d6e0a5c2b";
    let lines = vec![LogLine { stderr: true, text: line.into() }];
    a.update(Msg::Action(crate::msg::ActionMsg::LogLines(LogChunk { id, lines })));
    let want = "ssh -L 8888:localhost:8888 gpu-node-7";
    assert!(
        status(&a).contains("JupyterLab at http://localhost:8888/lab?token=4f1d6e0a5c2b")
            && status(&a).contains(want),
        "{}",
        status(&a)
    );
    assert_eq!(a.update(key(KeyCode::Char('y'))), vec![Command::Clipboard(want.into())]);
    assert!(status(&a).starts_with(&format!("copied: {want}")), "{}", status(&a));
}

#[test]
fn free_n_in_the_form_keeps_gpus_behind_one_pcie_switch_and_says_why() {
    use crate::gpu::topology::{TopoLevel, Topology};
    let mut a = AppState::new(&Config::default(), "unix:///var/run/docker.sock".into());
    // GPU 1 is the coolest; its switch partner is GPU 0, the hottest.
    let temps = [80, 30, 40, 41];
    let gpus = (0..4)
        .map(|index| GpuSample {
            index,
            uuid: format!("GPU-{index}"),
            temperature_c: Some(temps[index as usize]),
            util_gpu: Some(0),
            memory_used: Some(0),
            memory_total: Some(80 << 30),
            ..Default::default()
        })
        .collect();
    let mut levels = Vec::new();
    for x in 0..4u32 {
        for y in (0..4).filter(|&y| y != x) {
            levels.push((x, y, if x / 2 == y / 2 { TopoLevel::Single } else { TopoLevel::System }));
        }
    }
    let topology = Some(Topology { gpus: Vec::new(), levels });
    a.update(Msg::Gpu(GpuEvent::Snapshot(GpuSnapshot { gpus, topology, ..Default::default() })));
    let cmds = submit(&mut a, "free:2");
    let [Command::Launch { spec }] = cmds.as_slice() else { panic!("{cmds:?} {:?}", a.mode) };
    assert_eq!(spec.gpus, GpuRequest::Devices(vec![GpuRef::Index(1), GpuRef::Index(0)]));
    assert_eq!(status(&a), "free:2 picks GPUs 1,0: same PCIe switch (PIX)");
}
