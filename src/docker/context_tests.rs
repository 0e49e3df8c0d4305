use super::*;

/// A docker config dir of our own, removed when dropped.
struct Store(PathBuf);

impl Store {
    fn new(tag: &str) -> Store {
        let dir = std::env::temp_dir().join(format!("gpudock-ctx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        Store(dir)
    }

    fn hash(name: &str) -> String {
        format!("{:x}", Sha256::digest(name.as_bytes()))
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(&self.0)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    fn context(&self, name: &str, host: &str) -> PathBuf {
        let meta = serde_json::json!({
            "Name": name, "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}
        });
        self.write(&format!("contexts/meta/{}/meta.json", Store::hash(name)), &meta.to_string())
    }

    fn store(&self) -> ContextStore {
        ContextStore::new(&self.0)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unix(p: &str) -> DockerHost {
    DockerHost::Unix(PathBuf::from(p))
}

fn ctx(name: &str, endpoint: DockerHost) -> DockerHost {
    DockerHost::Context { name: name.into(), endpoint: Box::new(endpoint) }
}

#[test]
fn the_store_is_keyed_like_the_docker_cli() {
    // `docker context create e2` (CLI 28.2) wrote contexts/meta/ac0f09…/meta.json.
    assert_eq!(Store::hash("e2"), "ac0f09c0f8bf5e7a4b063d863255f16d8ce9abe600e288d934cf313bcbff63eb");
    let s = Store::new("keyed");
    s.write(
        &format!("contexts/meta/{}/meta.json", Store::hash("e2")),
        r#"{"Name":"e2","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/d2.sock","SkipTLSVerify":false}}}"#,
    );
    assert_eq!(s.store().host("e2", None), Ok(ctx("e2", unix("/run/d2.sock"))));
}

#[test]
fn precedence_follows_the_docker_cli() {
    let s = Store::new("precedence");
    s.context("flag", "unix:///run/flag.sock");
    s.context("env", "unix:///run/env.sock");
    s.context("current", "ssh://alice@gpu-07");
    let store = s.store();
    let pick = |flag_host, flag_context, env_host, env_context| {
        Choice { flag_host, flag_context, env_host, env_context }.resolve(&store)
    };
    let env_host = Some("unix:///run/dockerhost.sock");
    // Without config.json: the default socket.
    assert_eq!(pick(None, None, None, None), Ok(unix(super::super::host::DEFAULT_SOCKET)));
    s.write("config.json", r#"{"auths":{},"currentContext":"current"}"#);
    let rows = [
        // (--docker-host, --context, DOCKER_HOST, DOCKER_CONTEXT) → engine
        ((Some("unix:///run/h.sock"), None, env_host, Some("env")), unix("/run/h.sock")),
        ((None, Some("flag"), env_host, Some("env")), ctx("flag", unix("/run/flag.sock"))),
        ((None, None, env_host, Some("env")), unix("/run/dockerhost.sock")),
        ((None, None, None, Some("env")), ctx("env", unix("/run/env.sock"))),
        ((None, None, Some("  "), Some("")), ctx("current", DockerHost::Ssh("ssh://alice@gpu-07".into()))),
        // `default` is DOCKER_HOST or the default socket, and beats DOCKER_CONTEXT/currentContext.
        ((None, Some("default"), env_host, Some("env")), unix("/run/dockerhost.sock")),
        ((None, Some("default"), None, Some("env")), unix(super::super::host::DEFAULT_SOCKET)),
        ((None, None, None, Some("default")), unix(super::super::host::DEFAULT_SOCKET)),
    ];
    for ((fh, fc, eh, ec), want) in rows {
        assert_eq!(pick(fh, fc, eh, ec), Ok(want), "{fh:?} {fc:?} {eh:?} {ec:?}");
    }
    assert_eq!(pick(Some("unix:///x.sock"), Some("flag"), None, None), Err(ContextError::Conflict));
    let current = pick(None, None, None, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(!current.is_local() && current.to_string() == "ssh://alice@gpu-07 (context current)");
}

#[test]
fn an_unknown_context_lists_the_ones_found() {
    let s = Store::new("unknown");
    let none = s.store().host("gpu-9", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(none.contains("\"gpu-9\"") && none.contains("there are none"), "{none}");
    s.context("gpu-1", "ssh://gpu-1");
    s.context("gpu-2", "ssh://gpu-2");
    let err = s.store().host("gpu-9", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("no Docker context named \"gpu-9\"") && err.contains("found gpu-1, gpu-2"), "{err}");
    s.write("config.json", r#"{"currentContext":"gone"}"#);
    let err = Choice::default().resolve(&s.store()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("\"gone\""), "{err}");
}

#[test]
fn a_malformed_file_is_named_with_the_parser_message() {
    let s = Store::new("malformed");
    let path = s.write(&format!("contexts/meta/{}/meta.json", Store::hash("bad")), r#"{"Name": 3}"#);
    let err = s.store().host("bad", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with(&path.display().to_string()) && err.contains("invalid type"), "{err}");
    let cfg = s.write("config.json", "{ not json");
    let err = Choice::default().resolve(&s.store()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with(&cfg.display().to_string()) && err.contains("line 1"), "{err}");
    s.write(&format!("contexts/meta/{}/meta.json", Store::hash("k8s")), r#"{"Name":"k8s","Endpoints":{}}"#);
    let err = s.store().host("k8s", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("no docker endpoint"), "{err}");
    s.context("pipe", "npipe:////./pipe/docker_engine");
    let err = s.store().host("pipe", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("\"pipe\"") && err.contains("unsupported Docker host"), "{err}");
}

#[test]
fn tls_material_is_found_and_used_or_what_is_missing_named() {
    let s = Store::new("tls");
    s.context("secure", "tcp://10.0.0.5:2376");
    s.context("half", "tcp://10.0.0.7:2376");
    s.context("plain", "tcp://10.0.0.6:2375");
    let dir = format!("contexts/tls/{}/docker", Store::hash("secure"));
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        s.write(&format!("{dir}/{f}"), "-----BEGIN CERTIFICATE-----\n");
    }
    let c = s.store().load("secure").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.tls_files.len(), 3, "{c:?}");
    let host = c.to_host().unwrap_or_else(|e| panic!("{e}"));
    let DockerHost::Tls { url, files } = host.endpoint() else { panic!("{host:?}") };
    assert_eq!((url.as_str(), &files.key), ("tcp://10.0.0.5:2376", &s.0.join(&dir).join("key.pem")));
    assert_eq!(host.to_string(), "tcp://10.0.0.5:2376 (TLS) (context secure)");
    // Only a CA (the docker CLI would connect without a client certificate): named, not downgraded.
    s.write(&format!("contexts/tls/{}/docker/ca.pem", Store::hash("half")), "x");
    let err = s.store().host("half", None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("\"half\" uses TLS") && err.contains("lacks cert.pem, key.pem"), "{err}");
    let plain = s.store().host("plain", None);
    assert_eq!(plain, Ok(ctx("plain", DockerHost::Tcp("tcp://10.0.0.6:2375".into()))));
    let skip = Context { skip_tls_verify: true, ..s.store().load("plain").unwrap_or_else(|e| panic!("{e}")) };
    assert!(skip.to_host().is_err_and(|e| e.to_string().contains("SkipTLSVerify")));
}
