//! Who a container belongs to. Docker records no "who ran this": the engine only sees the
//! socket's peer, root or a docker-group member (moby #26535). So the owner is taken from what
//! a site or a user left on the container, first match wins, and where it came from is kept so
//! every surface can say how it knows:
//! 1. gpudock's own `io.gpudock.launched-by` label;
//! 2. a label named in `owner_labels` (a site's wrapper script or compose file);
//! 3. a bind mount from a home directory (`/home/<user>/…`, or a home in the host's passwd): a
//!    guess, shown as `carol?`;
//! 4. the container's `Config.User` when it is a name, or a UID with a host account (root is
//!    nobody's: nearly every container runs as root);
//! 5. unknown.

use std::borrow::Cow;
use std::collections::HashMap;

use super::model::LAUNCHED_BY_LABEL;
use crate::sanitize;

/// Longest owner name kept: label values are free text from any docker user.
const MAX_NAME: usize = 64;
/// /etc/passwd read at most this far (a directory-backed node can list many accounts).
const MAX_PASSWD: u64 = 4 << 20;
/// UIDs below this are system accounts, whose homes (`/var/lib/…`, `/`) say nothing of a person.
const FIRST_USER_UID: u32 = 1000;
const NOBODY_UID: u32 = 65534;

/// How an owner was found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub enum OwnerSource {
    /// gpudock's `io.gpudock.launched-by` label.
    LaunchedBy,
    /// A label named in `owner_labels` (the key).
    OwnerLabel(String),
    /// A bind mount from this user's home: a guess.
    HomeMount,
    /// The container's `Config.User`.
    User,
    /// A process outside containers: its real user.
    HostProcess,
    #[default]
    Unknown,
}

impl OwnerSource {
    /// As `snapshot --json` writes it: `label`, `owner_label:<key>`, `home_mount`, `user`,
    /// `host_process`, `unknown`.
    pub fn as_str(&self) -> Cow<'static, str> {
        match self {
            OwnerSource::LaunchedBy => "label".into(),
            OwnerSource::OwnerLabel(key) => format!("owner_label:{key}").into(),
            OwnerSource::HomeMount => "home_mount".into(),
            OwnerSource::User => "user".into(),
            OwnerSource::HostProcess => "host_process".into(),
            OwnerSource::Unknown => "unknown".into(),
        }
    }
}

/// A container's (or host process's) owner and how it was found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Owner {
    pub name: Option<String>,
    pub source: OwnerSource,
}

impl Owner {
    pub fn new(name: &str, source: OwnerSource) -> Option<Owner> {
        let name = clean(name)?;
        Some(Owner { name: Some(name), source })
    }

    /// The owner of a process outside containers.
    pub fn host_user(user: Option<&str>) -> Owner {
        user.and_then(|u| Owner::new(u, OwnerSource::HostProcess)).unwrap_or_default()
    }

    /// Whether the name is a guess (a home mount).
    pub fn is_guess(&self) -> bool {
        self.source == OwnerSource::HomeMount
    }

    /// As every surface shows it: `alice`, `carol?` for a guess, `-` when unknown.
    pub fn shown(&self) -> Cow<'_, str> {
        match &self.name {
            Some(n) if self.is_guess() => format!("{n}?").into(),
            Some(n) => Cow::Borrowed(n),
            None => "-".into(),
        }
    }

    /// The name alone (no `?`), for grouping and labels; empty when unknown.
    pub fn key(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// One line, bounded, not empty.
fn clean(name: &str) -> Option<String> {
    let name = sanitize::line(name.trim());
    let name: String = name.chars().take(MAX_NAME).collect();
    (!name.is_empty()).then_some(name)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    name: String,
    uid: u32,
    home: String,
}

/// The host's user accounts, as far as owners need them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    accounts: Vec<Account>,
}

impl Accounts {
    /// Parses passwd(5) text; malformed lines are skipped.
    pub fn from_passwd(text: &str) -> Accounts {
        let accounts = text
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split(':').collect();
                let (name, uid, home) = (*f.first()?, f.get(2)?.parse().ok()?, *f.get(5)?);
                (!name.is_empty() && !name.starts_with('#')).then(|| Account {
                    name: name.to_string(),
                    uid,
                    home: home.trim_end_matches('/').to_string(),
                })
            })
            .collect();
        Accounts { accounts }
    }

    /// This machine's `/etc/passwd` (empty when it cannot be read).
    pub fn load() -> Accounts {
        use std::io::Read;
        let mut text = String::new();
        let read =
            std::fs::File::open("/etc/passwd").and_then(|f| f.take(MAX_PASSWD).read_to_string(&mut text));
        match read {
            Ok(_) => Accounts::from_passwd(&text),
            Err(e) => {
                tracing::debug!(error = %e, "no /etc/passwd: owners from UIDs and homes are unknown");
                Accounts::default()
            }
        }
    }

    fn by_uid(&self, uid: u32) -> Option<&str> {
        self.accounts.iter().find(|a| a.uid == uid).map(|a| a.name.as_str())
    }

    /// The person whose home holds `path`; system accounts' homes do not count.
    fn home_of(&self, path: &str) -> Option<&str> {
        self.accounts
            .iter()
            .filter(|a| a.uid >= FIRST_USER_UID && a.uid != NOBODY_UID && a.home.len() > 1)
            .find(|a| path == a.home || path.strip_prefix(&a.home).is_some_and(|r| r.starts_with('/')))
            .map(|a| a.name.as_str())
    }
}

/// What decides owners on one engine: the labels to read and, for an engine on this machine,
/// its accounts (a remote engine's UIDs and homes are another machine's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerRules {
    pub labels: Vec<String>,
    pub accounts: Accounts,
}

impl OwnerRules {
    pub fn new(labels: Vec<String>, local: bool) -> OwnerRules {
        OwnerRules { labels, accounts: if local { Accounts::load() } else { Accounts::default() } }
    }

    /// The owner of a container from its labels, its bind mounts' host paths and its
    /// `Config.User` (None until its inspect is in).
    pub fn resolve<'a>(
        &self,
        labels: Option<&HashMap<String, String>>,
        binds: impl IntoIterator<Item = &'a str>,
        user: Option<&str>,
    ) -> Owner {
        let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
        if let Some(o) = label(LAUNCHED_BY_LABEL).and_then(|v| Owner::new(v, OwnerSource::LaunchedBy)) {
            return o;
        }
        for key in &self.labels {
            if let Some(o) = label(key).and_then(|v| Owner::new(v, OwnerSource::OwnerLabel(key.clone()))) {
                return o;
            }
        }
        if let Some(o) = binds.into_iter().find_map(|b| self.home_mount(b)) {
            return o;
        }
        user.and_then(|u| self.config_user(u)).unwrap_or_default()
    }

    fn home_mount(&self, source: &str) -> Option<Owner> {
        let from_home =
            source.strip_prefix("/home/").and_then(|r| r.split('/').next()).filter(|n| !n.is_empty());
        let name = from_home.or_else(|| self.accounts.home_of(source))?;
        Owner::new(name, OwnerSource::HomeMount)
    }

    /// `Config.User` is `name`, `uid`, `name:group` or `uid:gid`.
    fn config_user(&self, user: &str) -> Option<Owner> {
        let who = user.split(':').next()?.trim();
        let name = match who.parse::<u32>() {
            Ok(0) => return None,
            Ok(uid) => self.accounts.by_uid(uid)?,
            Err(_) if who == "root" || who.is_empty() => return None,
            // A name the image chose (`jovyan`) says less than a host account would, but it is
            // what the container runs as.
            Err(_) => who,
        };
        Owner::new(name, OwnerSource::User)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        alice:x:1000:1000:Alice:/home/alice:/bin/bash\n\
        carol:x:1002:1002::/data/users/carol/:/bin/bash\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        broken line\n";

    fn rules() -> OwnerRules {
        OwnerRules {
            labels: vec!["owner".into(), "user".into(), "io.gpudock.owner".into()],
            accounts: Accounts::from_passwd(PASSWD),
        }
    }

    fn labels(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn first_match_wins_in_the_documented_order() {
        let r = rules();
        let all = labels(&[(LAUNCHED_BY_LABEL, "ana"), ("user", "bob"), ("owner", "olga")]);
        let binds = ["/home/carol/data"];
        let o = r.resolve(Some(&all), binds, Some("alice"));
        assert_eq!((o.shown().as_ref(), o.source.as_str().as_ref()), ("ana", "label"));
        // Without gpudock's label, the first owner label in config order.
        let some = labels(&[("user", "bob"), ("owner", "olga")]);
        let o = r.resolve(Some(&some), binds, Some("alice"));
        assert_eq!((o.shown().as_ref(), o.source.as_str().as_ref()), ("olga", "owner_label:owner"));
        // No labels: the home mount, marked as a guess.
        let o = r.resolve(None, binds, Some("alice"));
        assert_eq!((o.shown().as_ref(), o.source.as_str().as_ref()), ("carol?", "home_mount"));
        assert!(o.is_guess());
        assert_eq!(o.key(), "carol");
        // No home mount: Config.User.
        let o = r.resolve(None, ["/data/sets"], Some("alice"));
        assert_eq!((o.shown().as_ref(), o.source.as_str().as_ref()), ("alice", "user"));
        // Nothing: unknown.
        let o = r.resolve(None, [], None);
        assert_eq!((o.shown().as_ref(), o.source.as_str().as_ref()), ("-", "unknown"));
    }

    #[test]
    fn homes_come_from_home_or_from_passwd_never_from_system_accounts() {
        let r = rules();
        let home = |p: &str| r.resolve(None, [p], None).name;
        assert_eq!(home("/home/dave/x").as_deref(), Some("dave"), "/home/<user> needs no account");
        assert_eq!(home("/data/users/carol/ds").as_deref(), Some("carol"), "a passwd home elsewhere");
        assert_eq!(home("/data/users/carol").as_deref(), Some("carol"));
        assert_eq!(home("/data/users/carolyn").as_deref(), None, "a prefix is not a home");
        assert_eq!(home("/usr/sbin/x").as_deref(), None, "a system account's home says nothing");
        assert_eq!(home("/home/").as_deref(), None);
        assert_eq!(home("/root/x").as_deref(), None);
    }

    #[test]
    fn config_user_names_and_uids_with_accounts_but_never_root() {
        let r = rules();
        let user = |u: &str| r.resolve(None, [], Some(u)).name;
        assert_eq!(user("1000").as_deref(), Some("alice"));
        assert_eq!(user("1000:1000").as_deref(), Some("alice"));
        assert_eq!(user("jovyan:users").as_deref(), Some("jovyan"));
        assert_eq!(user("4242").as_deref(), None, "a UID without an account names nobody");
        assert_eq!(user("0").as_deref(), None);
        assert_eq!(user("root").as_deref(), None);
        assert_eq!(user("").as_deref(), None);
    }

    #[test]
    fn label_text_is_one_bounded_line() {
        let r = rules();
        let evil = labels(&[("owner", "eve\n\u{1b}[2Jforged"), ("user", "   ")]);
        let o = r.resolve(Some(&evil), [], None);
        assert_eq!(o.name.as_deref(), Some("eve\\n\u{FFFD}[2Jforged"));
        let long = labels(&[("owner", &"x".repeat(500))]);
        assert_eq!(r.resolve(Some(&long), [], None).key().len(), MAX_NAME);
        // An empty label value is no owner: the next rule decides.
        let blank = labels(&[("owner", "  ")]);
        assert_eq!(r.resolve(Some(&blank), [], Some("alice")).source, OwnerSource::User);
    }

    #[test]
    fn a_remote_engine_knows_no_accounts() {
        let r = OwnerRules { labels: vec![], accounts: Accounts::default() };
        assert_eq!(r.resolve(None, [], Some("1000")).name, None);
        assert_eq!(r.resolve(None, ["/home/bob/x"], None).name.as_deref(), Some("bob"));
    }
}
