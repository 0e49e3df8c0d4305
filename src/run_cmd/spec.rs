//! `gpudock run`'s options (and a preset) → a checked `LaunchSpec`, with the launch form's own
//! validators, so the two refuse and accept the same input. Pure: no engine, no NVML.

use clap::Args;

use crate::app::launch::validate;
use crate::config::Preset;
use crate::docker::LaunchSpec;
use crate::docker::gpus::GpuRequest;
use crate::docker::model::LAUNCHED_BY_LABEL;
use crate::docker::ports;

/// The label naming the preset a container was launched from.
pub const PRESET_LABEL: &str = "io.gpudock.preset";

#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// GPUs: all, a count, a list of indices or UUIDs (0,2 or device=0,2), none, or free:N
    /// (N healthy GPUs no process holds memory on, picked just before the container is created).
    #[arg(long, value_name = "SPEC")]
    pub gpus: Option<String>,
    /// Start from a preset (built-in, site or your own); IMAGE and COMMAND then replace the
    /// preset's. Write `-` for IMAGE to keep the preset's image and replace only the command.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Container name (default: the engine picks one).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Keep the container after it exits (the default is to remove it, as `--rm` does).
    #[arg(long)]
    pub keep: bool,
    /// Set an environment variable (repeatable).
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Bind mount or volume, SRC:DST[:opts] (repeatable).
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:OPTS]")]
    pub volumes: Vec<String>,
    /// Share the host's IPC namespace (PyTorch data loaders need a large /dev/shm).
    #[arg(long)]
    pub ipc_host: bool,
    /// Size of /dev/shm, e.g. 8g.
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Network: none, host, or a network's name (default: the engine's).
    #[arg(long, value_name = "NETWORK")]
    pub network: Option<String>,
    /// Working directory inside the container.
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// Publish a port, [IP:]HOST:CONTAINER[/tcp|/udp] (repeatable); checked for clashes with
    /// ports other containers on this node publish.
    #[arg(short = 'p', long = "publish", value_name = "[IP:]HOST:CONTAINER")]
    pub ports: Vec<String>,
    /// Start it in the background and print its ID.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Print the `docker run` command line that creates the same container, and exit.
    #[arg(long)]
    pub dry_run: bool,
    /// IMAGE [COMMAND…]
    #[arg(value_name = "IMAGE [COMMAND]", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// What `--gpus` asked for: a request the engine takes as it is, or `free:N`, resolved
/// against a fresh NVML sample just before create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuChoice {
    Fixed(GpuRequest),
    Free(u32),
}

pub use crate::app::launch::validate::free_count;

/// A checked launch: the spec, and how its GPUs are still to be chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub spec: LaunchSpec,
    pub gpus: GpuChoice,
}

/// Facts from outside the options: presets, this host's GPUs (None without NVML) and the user.
pub struct Facts<'a> {
    pub presets: &'a [Preset],
    pub gpus: Option<&'a [(u32, &'a str)]>,
    pub user: &'a str,
}

/// The options (over the preset's settings) as a launch spec, or what is wrong with them.
pub fn plan(a: &RunArgs, facts: &Facts) -> Result<Planned, String> {
    let preset = match &a.preset {
        Some(name) => Some(facts.presets.iter().find(|p| &p.name == name).ok_or_else(|| {
            let names: Vec<String> = facts
                .presets
                .iter()
                .map(|p| if p.site { format!("{} (site)", p.name) } else { p.name.clone() })
                .collect();
            format!("no preset named {name:?}; there are: {}", names.join(", "))
        })?),
        None => None,
    };
    let (image, cmd) = match (a.args.split_first(), preset) {
        (Some((img, cmd)), Some(p)) if img == "-" => (p.image.clone(), Some(cmd.to_vec())),
        (Some((img, cmd)), _) => (img.clone(), Some(cmd.to_vec())),
        (None, Some(p)) => (p.image.clone(), None),
        (None, None) => return Err("an IMAGE (or --preset NAME) is required".into()),
    };
    let image = validate::image_reference(&image)?;
    let cmd = match cmd.filter(|c| !c.is_empty()) {
        Some(c) => c,
        None => match preset {
            Some(p) => shell_words::split(&p.command)
                .map_err(|e| format!("preset {}: cannot split its command: {e}", p.name))?,
            None => Vec::new(),
        },
    };
    let gpu_text = a.gpus.clone().or_else(|| preset.map(|p| p.gpus.clone())).unwrap_or_default();
    let gpus = match free_count(&gpu_text) {
        Some(n) => GpuChoice::Free(n?),
        None => GpuChoice::Fixed(validate::gpus(&gpu_text, facts.gpus).map_err(|e| format!("--gpus: {e}"))?),
    };
    let name = validate::name(a.name.as_deref().unwrap_or(""), &[]).map_err(|e| format!("--name: {e}"))?;
    let mut env = match preset {
        Some(p) => validate::env(&p.env).map_err(|e| format!("preset {}: env: {e}", p.name))?,
        None => Vec::new(),
    };
    for e in &a.env {
        // One -e is one variable, commas and all, as with `docker run`.
        validate::env(e).map_err(|m| format!("-e {e}: {m}"))?;
        env.push(e.clone());
    }
    let mut binds = match preset {
        Some(p) => validate::volumes(&p.volumes).map_err(|e| format!("preset {}: volumes: {e}", p.name))?,
        None => Vec::new(),
    };
    for v in &a.volumes {
        let checked = validate::volumes(v).map_err(|m| format!("-v {v}: {m}"))?;
        if checked.len() != 1 {
            return Err(format!("-v {v}: one mount per -v"));
        }
        binds.extend(checked);
    }
    let mut port_text: Vec<String> = match preset {
        Some(p) => p.ports.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        None => Vec::new(),
    };
    port_text.extend(a.ports.iter().cloned());
    // The preset's list is split as the form splits it; each -p is one mapping.
    let ports = ports::parse_all(&port_text).map_err(|e| format!("-p: {e}"))?;
    let shm_text = a.shm_size.clone().or_else(|| preset.map(|p| p.shm_size.clone())).unwrap_or_default();
    let shm_size = validate::size(&shm_text).map_err(|e| format!("--shm-size: {e}"))?;
    let workdir = a.workdir.as_deref().map(str::trim).filter(|w| !w.is_empty());
    if let Some(w) = workdir
        && !w.starts_with('/')
    {
        return Err(format!("-w {w}: the working directory must be an absolute path"));
    }
    let network = a.network.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = network
        && !n.chars().all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))
    {
        return Err(format!("--network {n:?}: not a network name"));
    }
    let mut labels = vec![(LAUNCHED_BY_LABEL.to_string(), facts.user.to_string())];
    if let Some(p) = preset {
        labels.push((PRESET_LABEL.to_string(), p.name.clone()));
    }
    let spec = LaunchSpec {
        image,
        cmd,
        name,
        gpus: match &gpus {
            GpuChoice::Fixed(g) => g.clone(),
            GpuChoice::Free(_) => GpuRequest::None,
        },
        auto_remove: !a.keep,
        env,
        binds,
        ipc_host: a.ipc_host || preset.is_some_and(|p| p.ipc_host),
        shm_size,
        network: network.map(String::from),
        workdir: workdir.map(String::from),
        labels,
        ports,
        free: match gpus {
            GpuChoice::Free(n) => Some(n),
            GpuChoice::Fixed(_) => None,
        },
    };
    Ok(Planned { spec, gpus })
}

/// The form's warning for a preset whose image needs a newer CUDA than the driver supports
/// (said, not enforced: the engine's refusal is explained if it comes).
pub fn cuda_warning(
    a: &RunArgs,
    presets: &[Preset],
    image: &str,
    driver_cuda: Option<&str>,
) -> Option<String> {
    let p = presets.iter().find(|p| Some(&p.name) == a.preset.as_ref())?;
    let need = p.cuda.as_deref()?;
    let have = driver_cuda?;
    (p.image == image && validate::version_newer(need, have)).then(|| {
        format!("warning: {image} needs CUDA {need} but this driver supports CUDA {have}: the container will likely fail to start")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::gpus::GpuRef;

    fn args(words: &[&str]) -> RunArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: RunArgs,
        }
        let mut v = vec!["run"];
        v.extend_from_slice(words);
        T::try_parse_from(v).map(|t| t.a).unwrap_or_else(|e| panic!("{e}"))
    }

    fn preset() -> Preset {
        Preset {
            name: "lab".into(),
            image: "nvcr.io/nvidia/pytorch:25.01-py3".into(),
            command: "jupyter lab --ip=0.0.0.0".into(),
            gpus: "free:1".into(),
            ipc_host: true,
            env: "A=1".into(),
            volumes: "/datasets:/datasets:ro".into(),
            ports: "8888:8888".into(),
            ..Default::default()
        }
    }

    #[test]
    fn options_become_the_spec_the_form_would_make() {
        let host = [(0, "GPU-a"), (1, "GPU-b")];
        let f = Facts { presets: &[], gpus: Some(&host), user: "alice" };
        let p = plan(
            &args(&[
                "--gpus",
                "0,1",
                "-e",
                "X=a,b",
                "-p",
                "8888:8888",
                "--shm-size",
                "1g",
                "img",
                "sh",
                "-c",
                "echo hi",
            ]),
            &f,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.spec.cmd, ["sh", "-c", "echo hi"]);
        assert_eq!(p.spec.env, ["X=a,b"], "one -e is one variable");
        assert_eq!(p.spec.gpus, GpuRequest::Devices(vec![GpuRef::Index(0), GpuRef::Index(1)]));
        assert!(p.spec.auto_remove, "--rm is the default");
        assert_eq!(p.spec.shm_size, Some(1 << 30));
        assert_eq!(p.spec.labels, [(LAUNCHED_BY_LABEL.to_string(), "alice".to_string())]);
        for (bad, says) in [
            (vec!["--gpus", "3", "img"], "has 2"),
            (vec!["Bad/Image"], "not a valid image"),
            (vec!["-e", "1X=y", "img"], "valid variable"),
            (vec!["-v", "/a:rel", "img"], "absolute"),
            (vec!["-p", "99999:1", "img"], "1 to 65535"),
            (vec!["-w", "rel", "img"], "absolute"),
            (vec!["--gpus", "free:0", "img"], "free:N"),
            (vec!["--preset", "nope"], "no preset"),
        ] {
            let e = plan(&args(&bad), &f).err().unwrap_or_default();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        assert!(plan(&RunArgs::default(), &f).is_err_and(|e| e.contains("IMAGE")));
    }

    #[test]
    fn a_preset_fills_in_and_the_command_line_replaces() {
        let presets = [preset()];
        let f = Facts { presets: &presets, gpus: None, user: "bob" };
        let p = plan(&args(&["--preset", "lab"]), &f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.spec.image, "nvcr.io/nvidia/pytorch:25.01-py3");
        assert_eq!(p.spec.cmd, ["jupyter", "lab", "--ip=0.0.0.0"]);
        assert_eq!(p.gpus, GpuChoice::Free(1));
        assert!(p.spec.ipc_host);
        assert_eq!(p.spec.binds, ["/datasets:/datasets:ro"]);
        assert_eq!(p.spec.ports.len(), 1);
        assert!(p.spec.labels.contains(&(PRESET_LABEL.to_string(), "lab".to_string())));
        let p = plan(&args(&["--preset", "lab", "--gpus", "all", "-e", "B=2", "-", "python", "x.py"]), &f)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.spec.image.as_str(), p.spec.cmd.as_slice()),
            ("nvcr.io/nvidia/pytorch:25.01-py3", &["python".to_string(), "x.py".to_string()][..])
        );
        assert_eq!(p.gpus, GpuChoice::Fixed(GpuRequest::All));
        assert_eq!(p.spec.env, ["A=1", "B=2"]);
        let p = plan(&args(&["--preset", "lab", "busybox"]), &f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.spec.image.as_str(), p.spec.cmd.len()),
            ("busybox", 3),
            "an IMAGE alone keeps the preset's command"
        );
    }
}
