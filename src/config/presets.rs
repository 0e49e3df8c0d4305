//! Launch presets: the built-in ones (`assets/presets.toml`), the site's
//! (`/etc/gpudock/presets.d/*.toml`, an admin's, offered to every user) and the user's
//! `[[presets]]`. By name, the user's replace the site's, which replace the built-in ones.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

const PRESETS: &str = include_str!("../../assets/presets.toml");

/// Where an admin puts presets for every user of the node.
pub const SITE_PRESETS_DIR: &str = "/etc/gpudock/presets.d";
/// Names another directory for the site's presets (tests, or a site that keeps them elsewhere).
pub const SITE_PRESETS_ENV: &str = "GPUDOCK_SITE_PRESETS";
/// More files than this in the directory is not a presets directory.
const MAX_SITE_FILES: usize = 256;

/// A launch preset: what the form is filled with when it is picked.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub image: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub gpus: String,
    #[serde(default)]
    pub ipc_host: bool,
    #[serde(default)]
    pub shm_size: String,
    #[serde(default)]
    pub env: String,
    #[serde(default)]
    pub volumes: String,
    /// `-p` mappings, comma-separated: `8888:8888,127.0.0.1:6006:6006`.
    #[serde(default)]
    pub ports: String,
    /// A line for the user, shown with the preset (where the datasets are, whom to ask).
    #[serde(default)]
    pub note: String,
    /// Came from the site's presets directory, not gpudock or the user's config.
    #[serde(skip)]
    pub site: bool,
    /// CUDA version the image needs ("12.9"), to warn when the driver is older.
    #[serde(default)]
    pub cuda: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    presets: Vec<Preset>,
}

/// The presets shipped with gpudock.
pub(super) fn builtin() -> Result<Vec<Preset>, ConfigError> {
    toml::from_str::<PresetFile>(PRESETS)
        .map(|f| f.presets)
        .map_err(|e| ConfigError::Parse { path: PathBuf::from("<built-in presets>"), message: e.to_string() })
}

/// `$GPUDOCK_SITE_PRESETS`, else /etc/gpudock/presets.d.
pub fn site_dir() -> PathBuf {
    std::env::var_os(SITE_PRESETS_ENV)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(SITE_PRESETS_DIR), PathBuf::from)
}

/// Every `*.toml` in `dir`, in name order (a later file's preset replaces an earlier one of the
/// same name), each marked as a site preset. No directory means no site presets; a file that
/// cannot be read or parsed is an error naming it.
pub fn load_site(dir: &Path) -> Result<Vec<Preset>, ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ConfigError::Read { path: dir.to_path_buf(), source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "toml") {
            files.push(path);
        }
        if files.len() > MAX_SITE_FILES {
            return Err(ConfigError::Invalid {
                path: dir.to_path_buf(),
                message: format!("more than {MAX_SITE_FILES} preset files"),
            });
        }
    }
    files.sort();
    let mut out: Vec<Preset> = Vec::new();
    for path in files {
        let text =
            super::read_capped(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let file: PresetFile = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
        for mut p in file.presets {
            if p.name.trim().is_empty() || p.image.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    path,
                    message: "every preset needs a name and an image".into(),
                });
            }
            p.site = true;
            replace_or_push(&mut out, p);
        }
    }
    Ok(out)
}

fn replace_or_push(list: &mut Vec<Preset>, p: Preset) {
    match list.iter_mut().find(|q| q.name == p.name) {
        Some(q) => *q = p,
        None => list.push(p),
    }
}

/// By name: the user's replace the site's, which replace the built-in ones.
pub(super) fn merge(builtin: Vec<Preset>, site: Vec<Preset>, user: Vec<Preset>) -> Vec<Preset> {
    let mut out = builtin;
    for p in site.into_iter().chain(user.into_iter().map(|p| Preset { site: false, ..p })) {
        replace_or_push(&mut out, p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, image: &str) -> Preset {
        Preset { name: name.into(), image: image.into(), ..Default::default() }
    }

    #[test]
    fn the_user_beats_the_site_and_the_site_beats_the_builtin() {
        let builtin = vec![p("a", "builtin/a"), p("b", "builtin/b"), p("c", "builtin/c")];
        let site = vec![Preset { site: true, ..p("b", "site/b") }, Preset { site: true, ..p("c", "site/c") }];
        let user = vec![p("c", "user/c"), p("d", "user/d")];
        let got: Vec<(String, String, bool)> =
            merge(builtin, site, user).into_iter().map(|p| (p.name, p.image, p.site)).collect();
        let want = [
            ("a", "builtin/a", false),
            ("b", "site/b", true),
            ("c", "user/c", false),
            ("d", "user/d", false),
        ];
        assert_eq!(got, want.map(|(a, b, c)| (a.to_string(), b.to_string(), c)));
    }
}
