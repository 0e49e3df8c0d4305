//! The launch form: fields, editing keys, presets, and turning the input into a `LaunchSpec`
//! only when every field is valid.

mod context;
pub mod gpus;
pub mod validate;

pub use context::{Context, preview, with_context};

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent};

use super::text_input::{Edit, TextInput};
use super::view::ViewKey;
use crate::config::{Action, Preset};
use crate::docker::{LaunchSpec, ports};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Image,
    Command,
    Gpus,
    Name,
    Preset,
    AutoRemove,
    Env,
    Volumes,
    Ports,
    IpcHost,
    ShmSize,
    Network,
    Workdir,
}

impl Field {
    pub const ALL: [Field; 13] = [
        Field::Image,
        Field::Command,
        Field::Gpus,
        Field::Name,
        Field::Preset,
        Field::AutoRemove,
        Field::Env,
        Field::Volumes,
        Field::Ports,
        Field::IpcHost,
        Field::ShmSize,
        Field::Network,
        Field::Workdir,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Image => "Image",
            Field::Command => "Command",
            Field::Gpus => "GPUs",
            Field::Name => "Name",
            Field::Preset => "Preset",
            Field::AutoRemove => "Remove on exit (--rm)",
            Field::Env => "Env (K=V,…)",
            Field::Volumes => "Volumes (h:c[:ro],…)",
            Field::Ports => "Ports (host:ctr,…)",
            Field::IpcHost => "IPC host",
            Field::ShmSize => "Shm size (e.g. 8g)",
            Field::Network => "Network",
            Field::Workdir => "Working dir",
        }
    }

    /// Fields toggled or cycled with Space / ←→ rather than typed into.
    pub fn is_choice(self) -> bool {
        matches!(self, Field::Preset | Field::AutoRemove | Field::IpcHost | Field::Network)
    }
}

pub const NETWORKS: [&str; 3] = ["engine default", "none", "host"];

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchForm {
    pub focus: Field,
    pub image: String,
    pub command: String,
    pub gpus: String,
    pub name: String,
    /// Index into the presets; None = no preset.
    pub preset: Option<usize>,
    pub auto_remove: bool,
    pub env: String,
    pub volumes: String,
    /// `-p` mappings: `8888:8888,127.0.0.1:6006:6006`.
    pub ports: String,
    pub ipc_host: bool,
    pub shm_size: String,
    pub network: usize,
    pub workdir: String,
    pub errors: BTreeMap<Field, String>,
    /// A warning that the next Enter overrides (e.g. the driver is too old for the preset).
    pub warning: Option<String>,
    /// Why the last launch from this form failed, when no single field is to blame.
    pub failure: Option<String>,
}

impl Default for LaunchForm {
    fn default() -> Self {
        LaunchForm {
            focus: Field::Image,
            image: String::new(),
            command: String::new(),
            gpus: String::new(),
            name: String::new(),
            preset: None,
            // Containers on GPU nodes are ephemeral: --rm unless the user says otherwise.
            auto_remove: true,
            env: String::new(),
            volumes: String::new(),
            ports: String::new(),
            ipc_host: false,
            shm_size: String::new(),
            network: 0,
            workdir: String::new(),
            errors: BTreeMap::new(),
            warning: None,
            failure: None,
        }
    }
}

pub const KEYS: &[ViewKey] = &[
    ViewKey::new(Action::NextField, "next field").hint(&[Action::NextField, Action::PrevField], "move"),
    ViewKey::new(Action::PrevField, "previous field"),
    ViewKey::new(Action::ChoiceNext, "next choice (preset, --rm, IPC, network)")
        .hint(&[Action::ChoiceNext], "change"),
    ViewKey::new(Action::ChoicePrev, "previous choice"),
    ViewKey::new(Action::ClearField, "clear the field").hint(&[Action::ClearField], "clear"),
    ViewKey::new(Action::Submit, "check the form and launch").hint(&[Action::Submit], "launch"),
    ViewKey::new(Action::Cancel, "close the form without launching").hint(&[Action::Cancel], "cancel"),
];

/// What a key press in the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAction {
    None,
    Cancel,
    Submit,
}

impl LaunchForm {
    pub fn text_mut(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Image => Some(&mut self.image),
            Field::Command => Some(&mut self.command),
            Field::Gpus => Some(&mut self.gpus),
            Field::Name => Some(&mut self.name),
            Field::Env => Some(&mut self.env),
            Field::Volumes => Some(&mut self.volumes),
            Field::Ports => Some(&mut self.ports),
            Field::ShmSize => Some(&mut self.shm_size),
            Field::Workdir => Some(&mut self.workdir),
            _ => None,
        }
    }

    pub fn text(&self, field: Field) -> String {
        match field {
            Field::Image => self.image.clone(),
            Field::Command => self.command.clone(),
            Field::Gpus => self.gpus.clone(),
            Field::Name => self.name.clone(),
            Field::Env => self.env.clone(),
            Field::Volumes => self.volumes.clone(),
            Field::Ports => self.ports.clone(),
            Field::ShmSize => self.shm_size.clone(),
            Field::Workdir => self.workdir.clone(),
            Field::AutoRemove => yes_no(self.auto_remove).into(),
            Field::IpcHost => yes_no(self.ipc_host).into(),
            Field::Network => NETWORKS[self.network].into(),
            Field::Preset => String::new(),
        }
    }

    fn step(&mut self, delta: isize) {
        let i = Field::ALL.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = Field::ALL.len() as isize;
        self.focus = Field::ALL[((i + delta).rem_euclid(n)) as usize];
    }

    pub fn apply_preset(&mut self, presets: &[Preset], index: Option<usize>) {
        let had_preset = self.preset.is_some();
        self.preset = index.filter(|i| *i < presets.len());
        let Some(p) = self.preset.and_then(|i| presets.get(i)) else {
            // Back to no preset: what the last preset filled in goes too.
            if had_preset {
                let keep = (self.name.clone(), self.auto_remove, self.network, self.workdir.clone());
                *self = LaunchForm { focus: self.focus, ..LaunchForm::default() };
                (self.name, self.auto_remove, self.network, self.workdir) = keep;
            }
            return;
        };
        self.image = p.image.clone();
        self.command = p.command.clone();
        self.gpus = p.gpus.clone();
        self.ipc_host = p.ipc_host;
        self.shm_size = p.shm_size.clone();
        self.env = p.env.clone();
        self.volumes = p.volumes.clone();
        self.ports = p.ports.clone();
        self.errors.clear();
        self.warning = None;
    }

    fn cycle(&mut self, delta: isize, presets: &[Preset]) {
        match self.focus {
            Field::AutoRemove => self.auto_remove = !self.auto_remove,
            Field::IpcHost => self.ipc_host = !self.ipc_host,
            Field::Network => {
                self.network = (self.network as isize + delta).rem_euclid(NETWORKS.len() as isize) as usize
            }
            Field::Preset => {
                // None, then each preset in turn.
                let n = presets.len() as isize + 1;
                let cur = self.preset.map(|i| i as isize + 1).unwrap_or(0);
                let next = (cur + delta).rem_euclid(n);
                self.apply_preset(presets, (next > 0).then(|| next as usize - 1));
            }
            _ => {}
        }
    }

    /// `action` is what the keymap made of `key` in the form; keys it does not bind type text.
    pub fn handle_key(&mut self, action: Option<Action>, key: KeyEvent, presets: &[Preset]) -> FormAction {
        let choice = self.focus.is_choice();
        match action {
            // Esc on a warning takes the warning back, not the whole form.
            Some(Action::Cancel) if self.warning.is_some() => self.warning = None,
            Some(Action::Cancel) => return FormAction::Cancel,
            Some(Action::Submit) => return FormAction::Submit,
            Some(Action::NextField) => self.step(1),
            Some(Action::PrevField) => self.step(-1),
            Some(Action::ChoicePrev) if choice => self.cycle(-1, presets),
            Some(Action::ChoiceNext) if choice => self.cycle(1, presets),
            Some(Action::ClearField) => {
                if let Some(t) = self.text_mut(self.focus) {
                    t.clear();
                }
            }
            _ => return self.type_key(key),
        }
        self.edited();
        FormAction::None
    }

    /// A failed launch: the error at `field` (focused, so the user can fix it), else below.
    pub fn fail(&mut self, field: Option<Field>, text: String) {
        match field {
            Some(f) => {
                self.errors.insert(f, text);
                self.focus = f;
            }
            None => self.failure = Some(text),
        }
    }

    /// Pasted text, into the focused text field.
    pub fn paste(&mut self, text: &str) {
        if let Some(t) = self.text_mut(self.focus) {
            TextInput(t).paste(text);
            self.edited();
        }
    }

    /// A key no form action took: text editing in the focused field.
    fn type_key(&mut self, key: KeyEvent) -> FormAction {
        // Enter and Esc are form actions (submit, cancel) when bound; unbound, they edit nothing.
        if matches!(key.code, KeyCode::Enter | KeyCode::Esc) {
            return FormAction::None;
        }
        let Some(t) = self.text_mut(self.focus) else { return FormAction::None };
        if TextInput(t).key(&key) != Edit::Changed {
            return FormAction::None;
        }
        self.edited();
        FormAction::None
    }

    /// Editing a field clears its error and any pending warning.
    fn edited(&mut self) {
        self.errors.remove(&self.focus);
        self.warning = None;
    }

    /// Validates every field; on success the spec to launch, else the errors stay on the form.
    pub fn validate(&mut self, ctx: &Context) -> Option<LaunchSpec> {
        self.errors.clear();
        let mut err = |f: Field, e: String| {
            self.errors.entry(f).or_insert(e);
        };
        let image = validate::image_reference(&self.image).map_err(|e| err(Field::Image, e)).ok();
        let cmd = shell_words::split(&self.command)
            .map_err(|e| err(Field::Command, format!("cannot split the command: {e} (check the quotes)")))
            .ok();
        let free = validate::free_count(&self.gpus).and_then(Result::ok);
        let gpus = match validate::free_count(&self.gpus) {
            Some(n) => n
                .and_then(|n| match ctx.candidates {
                    Some(c) => c.pick(n).map(|p| gpus::devices(&p.gpus)).map_err(|r| r.to_string()),
                    None => Err("free:N needs the GPU list, and NVML is unavailable: name the GPUs".into()),
                })
                .map_err(|e| err(Field::Gpus, e))
                .ok(),
            None => validate::gpus(&self.gpus, ctx.gpus).map_err(|e| err(Field::Gpus, e)).ok(),
        };
        let name = validate::name(&self.name, ctx.taken_names).map_err(|e| err(Field::Name, e)).ok();
        let env = validate::env(&self.env).map_err(|e| err(Field::Env, e)).ok();
        let binds = validate::volumes(&self.volumes).map_err(|e| err(Field::Volumes, e)).ok();
        let shm = validate::size(&self.shm_size).map_err(|e| err(Field::ShmSize, e)).ok();
        let ports = ports::parse_field(&self.ports)
            .and_then(|p| ports::check_clashes(&p, ctx.published).map(|()| p))
            .map_err(|e| err(Field::Ports, e))
            .ok();
        if !self.workdir.trim().is_empty() && !self.workdir.trim().starts_with('/') {
            err(Field::Workdir, "the working directory must be an absolute path".into());
        }
        let (
            Some(image),
            Some(cmd),
            Some(gpus),
            Some(name),
            Some(env),
            Some(binds),
            Some(shm_size),
            Some(ports),
        ) = (image, cmd, gpus, name, env, binds, shm, ports)
        else {
            return None;
        };
        if !self.errors.is_empty() {
            return None;
        }
        let preset = self.preset.and_then(|i| ctx.presets.get(i));
        let mut labels = vec![(crate::docker::model::LAUNCHED_BY_LABEL.to_string(), ctx.user.to_string())];
        if let Some(p) = preset {
            labels.push(("io.gpudock.preset".into(), p.name.clone()));
        }
        Some(LaunchSpec {
            image,
            cmd,
            name,
            gpus,
            auto_remove: self.auto_remove,
            env,
            binds,
            ipc_host: self.ipc_host,
            shm_size,
            network: (self.network > 0).then(|| NETWORKS[self.network].to_string()),
            workdir: Some(self.workdir.trim().to_string()).filter(|w| !w.is_empty()),
            labels,
            ports,
            free,
        })
    }

    /// A warning to show once before launching, e.g. a preset that needs a newer CUDA than the
    /// driver supports. None when there is nothing to warn about.
    pub fn preflight_warning(&self, ctx: &Context) -> Option<String> {
        let p = self.preset.and_then(|i| ctx.presets.get(i))?;
        let need = p.cuda.as_deref()?;
        let have = ctx.driver_cuda?;
        (p.image == self.image && validate::version_newer(need, have)).then(|| {
            format!(
                "{} needs CUDA {need} but this driver supports CUDA {have}: the container will fail to start. \
                 Pick an older tag (or update the driver).",
                p.image
            )
        })
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
