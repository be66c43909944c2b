//! CPU time and memory of a process from Linux's /proc, for the service the lab started (it
//! exports no `process_*` series) and for the lab itself. Elsewhere these read nothing and the
//! screen says so.

use std::fs;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// User and system CPU seconds since the process started.
    pub cpu_seconds: f64,
    /// Resident memory now, and its peak (VmRSS, VmHWM).
    pub resident_bytes: f64,
    pub peak_resident_bytes: f64,
}

/// `pid`'s usage, or `None` where /proc cannot tell (not Linux, or the process is gone).
pub fn usage(pid: u32) -> Option<Usage> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse(&stat, &status, clock_ticks()?)
}

/// Usage of the lab's own process.
pub fn own() -> Option<Usage> {
    usage(std::process::id())
}

fn clock_ticks() -> Option<f64> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    Some(ticks as f64)
}

fn parse(stat: &str, status: &str, ticks: f64) -> Option<Usage> {
    // The command name, in parentheses, may hold spaces: the fields start after its `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After `)`: state is field 3 of proc(5), so utime (14) and stime (15) are at 11 and 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let kib = |key: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        Some(line[key.len()..].split_whitespace().next()?.parse::<f64>().ok()? * 1024.0)
    };
    Some(Usage {
        cpu_seconds: (utime + stime) / ticks,
        resident_bytes: kib("VmRSS:")?,
        peak_resident_bytes: kib("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_times_after_a_name_with_spaces_and_memory_in_kib() {
        let stat = "4242 (snack drawer) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 9 0";
        let status = "Name:\tsnackdrawer\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\n";
        let usage = parse(stat, status, 100.0).unwrap();
        assert_eq!(usage.cpu_seconds, 3.0);
        assert_eq!(usage.resident_bytes, 20480.0 * 1024.0);
        assert_eq!(usage.peak_resident_bytes, 40960.0 * 1024.0);
    }

    #[test]
    fn reads_its_own_process_on_linux() {
        if cfg!(target_os = "linux") {
            let own = own().expect("/proc/self is readable");
            assert!(own.resident_bytes > 0.0 && own.peak_resident_bytes >= own.resident_bytes);
        }
    }
}
