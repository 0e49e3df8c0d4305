//! Owners against a real engine: each way of knowing whose a container is, read from what the
//! engine lists and inspects, exactly as the dashboard, `snapshot` and `export` read it.

mod common;

use common::engine::{IMAGE, LABEL, docker, docker_cmd, engine};
use gpudock::docker::lister::Lister;
use gpudock::docker::owner::{OwnerRules, OwnerSource};

/// A created (never started) container with extra `docker create` options, removed on drop.
struct Created(String);

impl Created {
    fn new(name_hint: &str, opts: &[&str]) -> Created {
        let name = format!("gpudock-test-owner-{name_hint}-{}", std::process::id());
        let _ = docker_cmd().args(["rm", "-f", &name]).output();
        let mut args = vec!["create", "--network", "none", "--label", LABEL, "--name", &name];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[IMAGE, "sleep", "1"]);
        docker(&args);
        Created(name)
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        let _ = docker_cmd().args(["rm", "-f", &self.0]).output();
    }
}

/// The name /etc/passwd gives `uid` on this machine.
fn account(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.get(2)? == &uid.to_string()).then(|| f[0].to_string())
    })
}

#[cfg_attr(
    not(engine_tests),
    ignore = "engine test: set GPUDOCK_TEST_DOCKER_HOST to an engine it may use (README: Set up)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_come_from_labels_owner_labels_home_mounts_and_the_user() {
    let host = engine();
    let home = format!("/home/gpudock-owner-test-{}", std::process::id());
    let data = format!("{home}/data");
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{data}: {e}"));
    let bind = format!("{data}:/data:ro");
    let daemon = account(1).unwrap_or_else(|| panic!("this machine's passwd has no uid 1"));

    let launched =
        Created::new("launched", &["--label", "io.gpudock.launched-by=ana", "--label", "owner=olga"]);
    let labelled = Created::new("labelled", &["--label", "team=ml", "--label", "user=bob"]);
    let homed = Created::new("homed", &["-v", &bind]);
    let user = Created::new("user", &["--user", "1:1"]);
    let root = Created::new("root", &["--user", "0"]);
    let nobody = Created::new("nobody", &[]);

    let docker = gpudock::docker::connect(&host).await.unwrap_or_else(|e| panic!("{e}"));
    let rules = OwnerRules::new(vec!["owner".into(), "user".into(), "io.gpudock.owner".into()], true);
    let mut lister = Lister::for_host(&host).with_owners(rules);
    let list = lister.refresh(&docker).await.unwrap_or_else(|e| panic!("{e}"));
    let owner = |c: &Created| {
        let c = list.iter().find(|x| x.name == c.0).unwrap_or_else(|| panic!("{} not listed", c.0));
        (c.owner.shown().into_owned(), c.owner.source.clone())
    };
    let _ = std::fs::remove_dir_all(&home);

    assert_eq!(owner(&launched), ("ana".to_string(), OwnerSource::LaunchedBy), "gpudock's label first");
    assert_eq!(owner(&labelled), ("bob".to_string(), OwnerSource::OwnerLabel("user".into())));
    let home_user = home.trim_start_matches("/home/").to_string();
    assert_eq!(owner(&homed), (format!("{home_user}?"), OwnerSource::HomeMount), "a guess");
    assert_eq!(owner(&user), (daemon, OwnerSource::User), "a UID with a host account");
    assert_eq!(owner(&root), ("-".to_string(), OwnerSource::Unknown), "root is nobody's");
    assert_eq!(owner(&nobody), ("-".to_string(), OwnerSource::Unknown));
}
