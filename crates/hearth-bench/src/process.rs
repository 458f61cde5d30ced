//! Reading another process's memory and CPU use from `/proc` (Linux only).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Resident set size in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:").map(|k| k * 1024)
}

/// Peak resident set size in bytes (`VmHWM`).
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:").map(|k| k * 1024)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    value_after(Path::new(&format!("/proc/{pid}/status")), key)
}

/// The number after `key` on the first line of `file` that starts with it.
fn value_after(file: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `read` of every thread of `pid`, by thread id, or `None` when no thread could be read. A
/// thread may end between listing and reading: it is left out rather than failing the rest.
fn per_thread(pid: u32, read: impl Fn(&Path) -> Option<u64>) -> Option<BTreeMap<u32, u64>> {
    let threads: BTreeMap<u32, u64> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            Some((tid, read(&task.path())?))
        })
        .collect();
    (!threads.is_empty()).then_some(threads)
}

/// CPU time used so far by `pid`, every thread together, threads that have ended included:
/// `utime + stime` of `/proc/<pid>/stat`, in clock ticks (10 ms). Summing the live threads'
/// own counters instead would lose the work of threads that end: tokio's blocking threads,
/// which run hearth's commits and queries, end after 10 s without work, so in an idle house
/// most commits run on a thread that is gone by the next reading.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_time_in_stat(&text)
}

fn cpu_time_in_stat(stat: &str) -> Option<Duration> {
    // Field 2, the command name, is in parentheses and may hold spaces: count from after it.
    // Then come field 3 (the state) onward; utime and stime are fields 14 and 15.
    let mut after = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .skip(11);
    let utime: u64 = after.next()?.parse().ok()?;
    let stime: u64 = after.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&t| t > 0)?;
    Some(Duration::from_nanos(
        (utime + stime).saturating_mul(1_000_000_000) / per_second,
    ))
}

/// Bytes this process caused to be sent to storage so far (`write_bytes` of
/// `/proc/<pid>/io`: pages it dirtied, whole 4 KiB pages, including those of files it
/// maps), or `None` when unreadable.
pub fn write_bytes(pid: u32) -> Option<u64> {
    value_after(Path::new(&format!("/proc/{pid}/io")), "write_bytes:")
}

/// Context switches so far of each live thread of `pid` (voluntary + involuntary), by thread
/// id: each is a wake-up of that thread. Compare two readings with [`switches_between`].
pub fn context_switches(pid: u32) -> Option<BTreeMap<u32, u64>> {
    per_thread(pid, |task| task_switches(&task.join("status")))
}

/// Context switches between two readings of [`context_switches`]: what each thread alive at
/// the second did since the first (all of it for a thread started in between). A thread that
/// ended in between is not there to ask: its switches after the first reading are missing
/// (Linux keeps no count of a process's ended threads' switches that another process can
/// read), so this is a lower bound when threads come and go.
pub fn switches_between(first: &BTreeMap<u32, u64>, second: &BTreeMap<u32, u64>) -> u64 {
    second
        .iter()
        .map(|(tid, n)| n.saturating_sub(first.get(tid).copied().unwrap_or(0)))
        .sum()
}

/// Voluntary + involuntary context switches in one task's `status` file.
fn task_switches(status: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(status).ok()?;
    let mut found = None;
    for line in text.lines() {
        if line.starts_with("voluntary_ctxt_switches:")
            || line.starts_with("nonvoluntary_ctxt_switches:")
        {
            let n = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            found = Some(found.unwrap_or(0) + n);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_counts_from_after_the_command_name() {
        // A name with spaces and a parenthesis; utime 250 and stime 50 ticks.
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 5 0 0";
        let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap();
        assert_eq!(
            cpu_time_in_stat(stat),
            Some(Duration::from_nanos(300 * 1_000_000_000 / ticks))
        );
        assert_eq!(cpu_time_in_stat("42 (short) S 1"), None);
    }

    #[test]
    fn switches_count_each_thread_since_the_first_reading() {
        let first = BTreeMap::from([(1, 10), (2, 5), (3, 7)]);
        // Thread 3 ended, thread 4 started, thread 1 woke twice.
        let second = BTreeMap::from([(1, 12), (2, 5), (4, 3)]);
        assert_eq!(switches_between(&first, &second), 2 + 3);
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(rss_bytes(me).unwrap() > 0);
        assert!(peak_rss_bytes(me).unwrap() >= rss_bytes(me).unwrap() / 2);
        // The CPU time of another process, as the bench reads the daemon's (qemu-user, which
        // runs the ARM tests, makes up this process's own `stat`): a shell that spins is seen
        // using CPU. Waiting for it is not a race: the count only grows while it spins.
        let mut spinner = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut used = Duration::ZERO;
        while used.is_zero() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            used = cpu_time(spinner.id()).unwrap();
        }
        spinner.kill().unwrap();
        spinner.wait().unwrap();
        assert!(!used.is_zero(), "a spinning shell used no CPU in 30 s");
        // Other test threads come and go: check this thread's own counter for the sleep, and
        // that every thread can be read.
        let threads = context_switches(me).unwrap();
        assert_eq!(switches_between(&threads, &threads), 0);
        let mine = Path::new("/proc/thread-self/status");
        let switches = task_switches(mine).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            task_switches(mine).unwrap() > switches,
            "a sleep is a switch"
        );
        // Whether anything is charged depends on the filesystem (tmpfs: nothing); the
        // counter must at least be there.
        assert!(write_bytes(me).is_some());
    }
}
