//! The process's own CPU time and resident memory, read at each scrape, under the names every
//! Prometheus client library gives them (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`), so that a CPU burn or a leak shows on the dashboards as a
//! real one would, and the standard queries work unchanged.
//!
//! CPU time comes from the process's CPU clock; resident memory from `/proc/self/status`, so on
//! a system without `/proc` the memory series is left out rather than reported as zero.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let cpu = ConstCounter::new(cpu_seconds());
        let metric = encoder.encode_descriptor(
            "process_cpu_seconds",
            "CPU time the process has used, user and system, in seconds",
            None,
            cpu.metric_type(),
        )?;
        cpu.encode(metric)?;
        if let Some(bytes) = resident_bytes() {
            let resident = ConstGauge::new(bytes);
            let metric = encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Memory the process holds in RAM (resident set size), in bytes",
                None,
                resident.metric_type(),
            )?;
            resident.encode(metric)?;
        }
        Ok(())
    }
}

pub(super) fn register(registry: &mut Registry) {
    registry.register_collector(Box::new(ProcessCollector));
}

fn cpu_seconds() -> f64 {
    let spent = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    spent.tv_sec as f64 + spent.tv_nsec as f64 / 1e9
}

/// `VmRSS` of `/proc/self/status`, given in KiB.
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    let kib: i64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work_and_memory_is_read() {
        let before = cpu_seconds();
        let start = std::time::Instant::now();
        let mut spin = 0_u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        assert!(cpu_seconds() > before);
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|bytes| bytes > 1024 * 1024));
        }
    }
}
