//! Which owners and modes a secrets file may have: the rule, kept apart from the file I/O.
//!
//! Accepted: nothing for others, nothing writable by the group, and group-readable only by a
//! group the reading process is in (so `root:hearth 0640`, the packaged layout, works for the
//! `hearth` service), or when the reader is root (`hearthd check-config` run by the admin,
//! which then checks separately what the service user can read).

use std::path::Path;

/// Who is reading: effective uid, effective gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Reader {
    /// The current process, from `/proc/self/status` (hearth runs on Linux only). `None` when
    /// that cannot be read; every group-readable file is then too open.
    pub fn current() -> Option<Self> {
        let status = std::fs::read_to_string(Path::new("/proc/self/status")).ok()?;
        Self::from_proc_status(&status)
    }

    /// Parse the `Uid:`, `Gid:` and `Groups:` lines of a `/proc/<pid>/status` text.
    pub fn from_proc_status(status: &str) -> Option<Self> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|rest| {
                    rest.split_whitespace()
                        .filter_map(|n| n.parse::<u32>().ok())
                })
        };
        // "Uid: real effective saved fs": the effective one decides.
        let uid = field("Uid:")?.nth(1)?;
        let gid = field("Gid:")?.nth(1)?;
        let groups = field("Groups:").map(|g| g.collect()).unwrap_or_default();
        Some(Self { uid, gid, groups })
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Why a file with this mode and group is refused, as a phrase; `None` when it is acceptable.
pub fn too_open(mode: u32, file_gid: u32, reader: Option<&Reader>) -> Option<&'static str> {
    if mode & 0o007 != 0 {
        return Some("others can access it");
    }
    if mode & 0o020 != 0 {
        return Some("its group can write it");
    }
    if mode & 0o050 != 0 {
        let trusted = reader.is_some_and(|r| r.uid == 0 || r.in_group(file_gid));
        if !trusted {
            return Some("its group is not one hearthd runs in");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// uid 990 (hearth), primary group 990 (hearth), also in gpio (997) and i2c (998).
    fn hearth() -> Reader {
        Reader {
            uid: 990,
            gid: 990,
            groups: vec![997, 998],
        }
    }

    #[test]
    fn root_hearth_0640_is_accepted_for_the_service_and_for_root() {
        assert_eq!(too_open(0o640, 990, Some(&hearth())), None);
        assert_eq!(too_open(0o600, 0, Some(&hearth())), None);
        assert_eq!(too_open(0o440, 990, Some(&hearth())), None);
        let root = Reader {
            uid: 0,
            gid: 0,
            groups: vec![],
        };
        assert_eq!(too_open(0o640, 990, Some(&root)), None);
    }

    #[test]
    fn others_group_write_and_foreign_groups_are_refused() {
        for mode in [0o644, 0o604, 0o606, 0o601] {
            assert_eq!(
                too_open(mode, 990, Some(&hearth())),
                Some("others can access it")
            );
        }
        assert_eq!(
            too_open(0o660, 990, Some(&hearth())),
            Some("its group can write it")
        );
        // root:users 0640: group 100 is not the service's.
        assert_eq!(
            too_open(0o640, 100, Some(&hearth())),
            Some("its group is not one hearthd runs in")
        );
        // A supplementary group counts; an unknown reader trusts no group.
        assert_eq!(too_open(0o640, 997, Some(&hearth())), None);
        assert!(too_open(0o640, 990, None).is_some());
    }

    #[test]
    fn proc_status_lines_are_parsed() {
        let status = "Name:\thearthd\nUid:\t1000\t990\t990\t990\nGid:\t1000\t991\t991\t991\n\
                      Groups:\t997 998 \n";
        assert_eq!(
            Reader::from_proc_status(status),
            Some(Reader {
                uid: 990,
                gid: 991,
                groups: vec![997, 998]
            })
        );
        assert_eq!(Reader::from_proc_status("Name:\tx\n"), None);
        assert!(Reader::current().is_some());
    }
}
