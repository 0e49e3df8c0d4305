//! Loading, merging and checking the config file.

use super::*;

#[test]
fn defaults_parse_and_bind_every_action() {
    let cfg = Config::from_sources(None, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.refresh, Duration::from_secs(1));
    for action in Action::ALL {
        assert!(!cfg.keymap.keys(action).is_empty(), "{action:?} has no default key");
    }
}

#[test]
fn user_file_overrides_only_what_it_names() {
    let text = "refresh_seconds = 2.5\n[keys]\nquit = [\"x\"]\n";
    let cfg =
        Config::from_sources(Some(text), Some(Path::new("/tmp/c.toml"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.refresh, Duration::from_millis(2500));
    assert_eq!(cfg.keymap.label(Action::Quit), "x");
    assert_eq!(cfg.keymap.label(Action::Help), "?/F1");
}

#[test]
fn malformed_file_reports_path_line_and_column() {
    let text = "refresh_seconds = 1.0\ntheme = \"plaid\"\n";
    let err = Config::from_sources(Some(text), Some(Path::new("/etc/x.toml")))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("/etc/x.toml"), "{err}");
    assert!(err.contains("line 2, column 9"), "{err}");
    assert!(err.contains("plaid"), "{err}");
}

#[test]
fn bad_key_names_and_unknown_settings_are_errors() {
    for text in ["[keys]\nquit = [\"hyper-q\"]\n", "[keys]\nfly = [\"f\"]\n", "refesh = 1\n"] {
        let err = Config::from_sources(Some(text), Some(Path::new("c.toml")));
        assert!(matches!(err, Err(ConfigError::Parse { .. })), "{text}: {err:?}");
    }
}

#[test]
fn presets_merge_by_name() {
    let text = "[[presets]]\nname = \"cuda-12-smoke\"\nimage = \"my/cuda:1\"\n[[presets]]\nname = \"mine\"\nimage = \"x:1\"\n";
    let cfg = Config::from_sources(Some(text), None).unwrap_or_else(|e| panic!("{e}"));
    let smoke = cfg.presets.iter().find(|p| p.name == "cuda-12-smoke");
    assert_eq!(smoke.map(|p| p.image.as_str()), Some("my/cuda:1"));
    assert!(cfg.presets.iter().any(|p| p.name == "mine"));
    assert!(cfg.presets.iter().any(|p| p.name == "ngc-pytorch" && p.ipc_host));
}

#[test]
fn every_value_is_range_checked_at_load() {
    for text in [
        "prune_until = \"-9223372036854775808\"\n",
        "prune_until = \"2999-01-01T00:00:00Z\"\n",
        "stop_timeout_seconds = 4294967295\n",
        "log_lines = 0\n",
        "refresh_seconds = nan\n",
        "disk_free_floor_gb = -1\n",
        "shell = \"bash -c 'unterminated\"\n",
    ] {
        let err = Config::from_sources(Some(text), None);
        assert!(matches!(err, Err(ConfigError::Invalid { .. })), "{text}: {err:?}");
    }
    let ok = Config::from_sources(Some("prune_until = \"7d\"\nstop_timeout_seconds = 600\n"), None);
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn errors_speak_in_config_words() {
    let err = Config::from_sources(Some("refresh_seconds = \"fast\"\n"), None).err().map(|e| e.to_string());
    assert!(err.as_deref().is_some_and(|e| e.contains("expected a number") && !e.contains("f64")), "{err:?}");
    let err = Config::from_sources(Some("log_lines = 5.5\n"), None).err().map(|e| e.to_string());
    assert!(err.as_deref().is_some_and(|e| e.contains("expected a whole number")), "{err:?}");
}

#[test]
fn a_huge_config_file_is_refused_unread() {
    let path = std::env::temp_dir().join(format!("gpudock-huge-{}.toml", std::process::id()));
    let line = "# padding padding padding padding padding padding padding padding\n";
    std::fs::write(&path, line.repeat(20_000)).unwrap_or_else(|e| panic!("{e}"));
    let err = Config::load(Some(&path), true).err().map(|e| e.to_string()).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert!(err.contains("larger than 1024 KiB"), "{err}");
}

#[test]
fn out_of_range_refresh_is_rejected() {
    let err = Config::from_sources(Some("refresh_seconds = 0.01\n"), None);
    assert!(matches!(err, Err(ConfigError::Invalid { .. })), "{err:?}");
}

#[test]
fn shell_is_split_like_a_command_line() {
    let cfg = Config::from_sources(Some("shell = \"bash -l -c 'cd /workspace; exec bash'\"\n"), None);
    let shell = cfg.unwrap_or_else(|e| panic!("{e}")).shell;
    assert_eq!(shell, Some(["bash", "-l", "-c", "cd /workspace; exec bash"].map(String::from).to_vec()));
    let unset = Config::from_sources(Some("shell = \"  \"\n"), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unset.shell, None);
}

#[test]
fn prometheus_settings() {
    let c = Config::from_sources(None, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.prometheus.url.is_none(), "no server unless one is named");
    let text = "prometheus_url = \"http://prom:9090\"\nprometheus_user = \"me\"\nprometheus_password_file = \"/etc/pw\"\n";
    let c = Config::from_sources(Some(text), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.prometheus.url.as_deref(), Some("http://prom:9090"));
    assert_eq!(c.prometheus.user.as_deref(), Some("me"));
    assert_eq!(c.prometheus.password_file.as_deref(), Some(std::path::Path::new("/etc/pw")));
}
