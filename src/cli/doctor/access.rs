//! What the service user may read and write: accounts from `/etc/passwd` and `/etc/group`
//! under an injectable root, and the POSIX permission rules applied to a path and each
//! directory above it. Used by `hearthd doctor` and by `check-config` run as root.
//!
//! ACLs and capabilities are not evaluated; hearth's files need neither.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// The account hearthd runs as (systemd/hearth.sysusers, `User=` in the unit).
pub const SERVICE_USER: &str = "hearth";
/// Groups the unit adds with `SupplementaryGroups=`, whatever /etc/group says.
pub const UNIT_GROUPS: [&str; 2] = ["gpio", "i2c"];

/// A user as the kernel sees it for permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, by id.
    pub groups: Vec<u32>,
}

impl Account {
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// `/etc/passwd` and `/etc/group` of a system, read once.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    passwd: String,
    group: String,
}

impl Accounts {
    /// Read `<root>/etc/passwd` and `<root>/etc/group` (missing files read as empty).
    pub fn load(root: &Path) -> Self {
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
        Self {
            passwd: read("etc/passwd"),
            group: read("etc/group"),
        }
    }

    /// `name`'s uid, primary gid and the groups listing it as a member.
    pub fn user(&self, name: &str) -> Option<Account> {
        let fields = self
            .passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 4 && f[0] == name)?;
        let uid = fields[2].parse().ok()?;
        let gid = fields[3].parse().ok()?;
        let groups = self
            .groups()
            .filter(|(_, _, members)| members.contains(&name))
            .map(|(_, id, _)| id)
            .collect();
        Some(Account {
            name: name.to_owned(),
            uid,
            gid,
            groups,
        })
    }

    /// A group's id by name.
    pub fn group_id(&self, name: &str) -> Option<u32> {
        self.groups()
            .find(|(n, _, _)| *n == name)
            .map(|(_, id, _)| id)
    }

    /// A group's name by id, for messages.
    pub fn group_name(&self, gid: u32) -> String {
        self.groups()
            .find(|(_, id, _)| *id == gid)
            .map(|(n, _, _)| n.to_owned())
            .unwrap_or_else(|| gid.to_string())
    }

    fn groups(&self) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
        self.group.lines().filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let id = f.get(2)?.parse().ok()?;
            let members = f
                .get(3)
                .map(|m| m.split(',').filter(|s| !s.is_empty()).collect())
                .unwrap_or_default();
            Some((f[0], id, members))
        })
    }

    /// The service user as the unit runs it: its own groups plus `SupplementaryGroups=`.
    pub fn service_account(&self, name: &str) -> Option<Account> {
        let mut account = self.user(name)?;
        for g in UNIT_GROUPS {
            if let Some(id) = self.group_id(g)
                && !account.groups.contains(&id)
            {
                account.groups.push(id);
            }
        }
        Some(account)
    }
}

/// What access is wanted on the final path component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
    ReadWrite,
}

/// Why access is denied: the path at which it fails, and a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub at: PathBuf,
    pub reason: String,
}

/// Map an absolute system path into the checked root (`/` in production).
pub fn under_root(root: &Path, path: &Path) -> PathBuf {
    let relative: PathBuf = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    root.join(relative)
}

/// Whether `account` can reach `path` (search permission on every directory above it) and
/// has `want` on it. `path` is absolute as the service sees it; `root` is where that tree
/// is (`/`, or a test directory).
pub fn check(root: &Path, account: &Account, path: &Path, want: Want) -> Result<(), Denied> {
    let mut shown = PathBuf::from("/");
    let mut real = root.to_path_buf();
    let parts: Vec<_> = path
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    for (i, part) in parts.iter().enumerate() {
        // The directory we are in must be searchable to go further.
        let dir_meta = std::fs::metadata(&real).map_err(|e| Denied {
            at: shown.clone(),
            reason: format!("cannot be examined: {e}"),
        })?;
        if !allowed(account, &dir_meta, 0o1) {
            return Err(Denied {
                at: shown.clone(),
                reason: format!(
                    "is a directory {} cannot enter (no x permission)",
                    account.name
                ),
            });
        }
        shown.push(part);
        real.push(part);
        if i + 1 == parts.len() {
            let meta = std::fs::metadata(&real).map_err(|e| Denied {
                at: shown.clone(),
                reason: match e.kind() {
                    std::io::ErrorKind::NotFound => "does not exist".to_owned(),
                    _ => format!("cannot be examined: {e}"),
                },
            })?;
            let (bits, what) = match want {
                Want::Read => (0o4, "read"),
                Want::Write => (0o2, "write"),
                Want::ReadWrite => (0o6, "read and write"),
            };
            // Listing or creating in a directory also needs search permission.
            let bits = if meta.is_dir() { bits | 0o1 } else { bits };
            if !allowed(account, &meta, bits) {
                return Err(Denied {
                    at: shown,
                    reason: format!(
                        "{} cannot {what} it (owner {}, group {}, mode {:04o})",
                        account.name,
                        meta.uid(),
                        meta.gid(),
                        meta.mode() & 0o7777
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The kernel's rule: owner bits if the user owns it, else group bits if in its group, else
/// other bits. Root may do anything except execute a file no one may execute.
fn allowed(account: &Account, meta: &std::fs::Metadata, bits: u32) -> bool {
    let mode = meta.mode();
    if account.uid == 0 {
        return bits & 0o1 == 0 || meta.is_dir() || mode & 0o111 != 0;
    }
    let granted = if meta.uid() == account.uid {
        (mode >> 6) & 0o7
    } else if account.in_group(meta.gid()) {
        (mode >> 3) & 0o7
    } else {
        mode & 0o7
    };
    granted & bits == bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          hearth:x:4242:4242:hearth:/var/lib/hearth:/usr/sbin/nologin\n";

    fn accounts(group: &str) -> Accounts {
        Accounts {
            passwd: PASSWD.to_owned(),
            group: group.to_owned(),
        }
    }

    #[test]
    fn users_and_groups_are_parsed() {
        let a = accounts("hearth:x:4242:\ngpio:x:997:hearth,pi\ni2c:x:998:pi\n");
        let u = a.user("hearth").unwrap();
        assert_eq!((u.uid, u.gid, u.groups.clone()), (4242, 4242, vec![997]));
        // The unit adds i2c even though /etc/group does not list hearth there.
        assert_eq!(a.service_account("hearth").unwrap().groups, vec![997, 998]);
        assert_eq!(a.group_name(998), "i2c");
        assert_eq!(a.group_name(5), "5");
        assert!(a.user("nobody").is_none());
    }

    fn set_mode(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn permission_bits_decide_for_a_stranger_and_a_group_member() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("etc/hearth");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys.toml");
        fs::write(&file, "x").unwrap();
        let my_gid = fs::metadata(&file).unwrap().gid();
        let stranger = Account {
            name: "hearth".into(),
            uid: 4242,
            gid: 4242,
            groups: vec![],
        };
        let member = Account {
            groups: vec![my_gid],
            ..stranger.clone()
        };
        let path = Path::new("/etc/hearth/keys.toml");
        set_mode(&file, 0o600);
        let d = check(root.path(), &stranger, path, Want::Read).unwrap_err();
        assert_eq!(d.at, path);
        assert!(d.reason.contains("hearth cannot read it"), "{}", d.reason);
        set_mode(&file, 0o640);
        assert!(check(root.path(), &member, path, Want::Read).is_ok());
        assert!(check(root.path(), &stranger, path, Want::Read).is_err());
        assert!(check(root.path(), &member, path, Want::Write).is_err());
        // A directory on the way without x stops it, and is named.
        set_mode(&dir, 0o700);
        let d = check(root.path(), &member, path, Want::Read).unwrap_err();
        assert_eq!(d.at, Path::new("/etc/hearth"));
        set_mode(&dir, 0o755);
        let d = check(
            root.path(),
            &member,
            Path::new("/etc/hearth/nope"),
            Want::Read,
        );
        assert_eq!(d.unwrap_err().reason, "does not exist");
        assert_eq!(
            under_root(root.path(), Path::new("/etc/hearth")),
            root.path().join("etc/hearth")
        );
    }
}
