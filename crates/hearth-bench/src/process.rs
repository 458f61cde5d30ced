//! Reading another process's memory and CPU use from `/proc` (Linux only).

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
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time used so far by every thread of `pid`, from each task's `schedstat`
/// (nanoseconds on the CPU; no clock-tick rounding).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let mut total = 0u64;
    let mut read_any = false;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        // A thread may end between listing and reading: skip it rather than fail.
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            total += ns;
            read_any = true;
        }
    }
    read_any.then(|| Duration::from_nanos(total))
}

/// Bytes this process caused to be sent to storage so far (`write_bytes` of
/// `/proc/<pid>/io`: pages it dirtied, whole 4 KiB pages, including those of files it
/// maps), or `None` when unreadable.
pub fn write_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let line = text.lines().find(|l| l.starts_with("write_bytes:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Context switches of every thread of `pid` so far (voluntary + involuntary): each is a
/// wake-up of some thread of the process. Threads that ended no longer count, so between two
/// readings the sum can fall when a thread exits.
pub fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    let mut read_any = false;
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        if let Some(n) = task_switches(&entry.path().join("status")) {
            total += n;
            read_any = true;
        }
    }
    read_any.then_some(total)
}

/// Voluntary + involuntary context switches in one task's `status` file.
fn task_switches(status: &std::path::Path) -> Option<u64> {
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
        let mine = std::path::Path::new("/proc/thread-self/status");
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
