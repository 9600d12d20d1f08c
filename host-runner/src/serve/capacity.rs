//! How many workflows one replica admits, sized by the machine rather than a
//! constant: a workflow waiting on a model holds a few hundred kilobytes, so
//! the bound is memory (and file descriptors for the connections that carry
//! them), not CPU.

/// What one waiting workflow is budgeted at when sizing the default bound:
/// about four times what was measured (`pilot bench --model-latency-ms`).
const BUDGET_PER_WORKFLOW: u64 = 2 << 20;
/// Bounds of the machine-sized default.
const MIN_IN_FLIGHT: usize = 64;
const MAX_IN_FLIGHT: usize = 16_384;
/// Descriptors kept for the database, components, logs and the listener.
const RESERVED_FDS: u64 = 256;

/// Physical memory of the machine, from `/proc/meminfo` (`None` elsewhere).
pub fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The default `--max-in-flight`: half the machine's memory at
/// [`BUDGET_PER_WORKFLOW`] each (6,144 on 24 GiB), within sane bounds.
pub fn default_max_in_flight() -> usize {
    let memory = total_memory().unwrap_or(4 << 30);
    ((memory / 2 / BUDGET_PER_WORKFLOW) as usize).clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT)
}

/// Raises the soft limit of open files to the hard one; the limit now in force.
pub fn raise_file_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    limit.rlim_cur
}

/// How many connections may be open at once: one descriptor each, within
/// the (raised) file limit, the rest reserved.
pub fn connection_limit(max_in_flight: usize) -> usize {
    let usable = raise_file_limit().saturating_sub(RESERVED_FDS).max(64);
    // Every admitted workflow's connection, plus clients waiting for a slot or reading results.
    (usable as usize).min(max_in_flight.saturating_mul(2).max(512))
}

/// The process's resident memory, from `/proc/self/statm` (`None` elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(4096) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_sized_by_memory_within_bounds() {
        let n = default_max_in_flight();
        assert!((MIN_IN_FLIGHT..=MAX_IN_FLIGHT).contains(&n), "{n}");
        if let Some(memory) = total_memory() {
            assert_eq!(n, ((memory / 2 / BUDGET_PER_WORKFLOW) as usize).clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT));
        }
        assert!(connection_limit(n) >= 64);
        assert!(resident_bytes().is_some_and(|b| b > 0) || !cfg!(target_os = "linux"));
    }
}
