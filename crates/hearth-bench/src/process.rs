//! Reading another process's memory and CPU use from `/proc` (Linux only).

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

/// The sum of `read` over every thread of `pid`, or `None` when no thread could be read. A
/// thread may end between listing and reading: it is skipped rather than failing the sum.
fn sum_over_threads(pid: u32, read: impl Fn(&Path) -> Option<u64>) -> Option<u64> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|task| read(&task.path()))
        .reduce(|a, b| a + b)
}

/// CPU time used so far by every thread of `pid`, from each task's `schedstat`
/// (nanoseconds on the CPU; no clock-tick rounding).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    sum_over_threads(pid, |task| {
        let text = std::fs::read_to_string(task.join("schedstat")).ok()?;
        text.split_whitespace().next()?.parse().ok()
    })
    .map(Duration::from_nanos)
}

/// Bytes this process caused to be sent to storage so far (`write_bytes` of
/// `/proc/<pid>/io`: pages it dirtied, whole 4 KiB pages, including those of files it
/// maps), or `None` when unreadable.
pub fn write_bytes(pid: u32) -> Option<u64> {
    value_after(Path::new(&format!("/proc/{pid}/io")), "write_bytes:")
}

/// Context switches of every thread of `pid` so far (voluntary + involuntary): each is a
/// wake-up of some thread of the process. Threads that ended no longer count, so between two
/// readings the sum can fall when a thread exits.
pub fn context_switches(pid: u32) -> Option<u64> {
    sum_over_threads(pid, |task| task_switches(&task.join("status")))
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
    fn reads_this_process() {
        let me = std::process::id();
        assert!(rss_bytes(me).unwrap() > 0);
        assert!(peak_rss_bytes(me).unwrap() >= rss_bytes(me).unwrap() / 2);
        let before = cpu_time(me).unwrap();
        // Spin for 50 ms of wall time: the optimiser cannot remove it, so CPU time must grow.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(x > 0);
        assert!(cpu_time(me).unwrap() > before);
        // Other test threads come and go, so the process's sum is not monotonic: check this
        // thread's own counter for the sleep, and that the sum can be read at all.
        assert!(context_switches(me).is_some());
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
