//! How many CPUs this process may use: the default number of seats (the
//! threads that run request code at once).

use std::io;

pub(super) fn default_workers() -> usize {
    cores()
}

/// The CPUs this process can use: those its affinity allows, capped by a
/// cgroup v2 CPU quota (a container's CPU limit), at least one.
///
/// `std::thread::available_parallelism` answers the same and reads cgroup
/// v1 too, but finding cgroup mounts for that links about 13 KB into every
/// binary; cgroup v2 is what current container runtimes give. Read once per
/// server.
pub(super) fn cores() -> usize {
    let allowed = rustix::thread::sched_getaffinity(None).map_or(1, |set| set.count() as usize);
    cgroup_cpu_quota()
        .map_or(allowed, |quota| quota.min(allowed))
        .max(1)
}

/// The CPUs this process's cgroup v2 CPU limit grants, if it sets one.
fn cgroup_cpu_quota() -> Option<usize> {
    let mut text = [0u8; 64];
    let len = std::fs::File::open("/sys/fs/cgroup/cpu.max")
        .and_then(|mut file| io::Read::read(&mut file, &mut text))
        .ok()?;
    cpus_of_cpu_max(std::str::from_utf8(&text[..len]).ok()?)
}

/// The CPUs a cgroup v2 `cpu.max` grants, rounded up (`"150000 100000"`:
/// two), or `None` when it sets no limit (`"max 100000"`).
fn cpus_of_cpu_max(text: &str) -> Option<usize> {
    let (max, period) = text.trim_end().split_once(' ')?;
    let (max, period) = (max.parse::<u64>().ok()?, period.parse::<u64>().ok()?);
    (period > 0).then(|| max.div_ceil(period) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_cpu_limit_counts_whole_cpus_rounded_up() {
        assert_eq!(cpus_of_cpu_max("200000 100000\n"), Some(2));
        assert_eq!(cpus_of_cpu_max("150000 100000\n"), Some(2));
        assert_eq!(cpus_of_cpu_max("50000 100000\n"), Some(1));
        assert_eq!(cpus_of_cpu_max("max 100000\n"), None);
        assert_eq!(cpus_of_cpu_max("100000 0\n"), None);
        assert_eq!(cpus_of_cpu_max(""), None);
    }

    #[test]
    fn cores_are_at_least_one_and_at_most_what_affinity_allows() {
        let allowed = rustix::thread::sched_getaffinity(None).map_or(1, |set| set.count() as usize);
        let cores = cores();
        assert!(
            (1..=allowed.max(1)).contains(&cores),
            "{cores} of {allowed}"
        );
    }
}
