//! CPU time the hypervisor took from this (virtual) machine during a phase.
//!
//! On a shared VM, a phase can lose a tenth of its CPU or more to other tenants ("steal" in
//! `/proc/stat`), and those are the runs whose tail latencies jump. Each phase prints its
//! share, so a reader can tell a slow run from a slow bridge.

/// The machine-wide CPU counters of `/proc/stat` at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    /// Read them now; `None` where `/proc/stat` is missing or unreadable.
    pub fn now() -> Option<Self> {
        parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The share of CPU time stolen since `self`, in percent.
    pub fn steal_pct_since(&self) -> Option<f64> {
        let now = Self::now()?;
        let total = now.total.checked_sub(self.total)?;
        let steal = now.steal.checked_sub(self.steal)?;
        (total > 0).then(|| 100.0 * steal as f64 / total as f64)
    }
}

/// Formats a phase's steal for the report.
pub fn describe(start: Option<CpuTimes>) -> String {
    match start.and_then(|s| s.steal_pct_since()) {
        Some(p) => format!("{p:.1} %"),
        None => "n/a".into(),
    }
}

/// The `cpu` line: user nice system idle iowait irq softirq steal [guest guest_nice].
fn parse(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line.split_whitespace().skip(1).map(|v| v.parse().ok()).collect::<Option<_>>()?;
    // guest time is already counted in user time; count the first eight fields only.
    let total = f.iter().take(8).sum();
    Some(CpuTimes { total, steal: *f.get(7)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_steal_column() {
        let t = parse("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3\n").unwrap();
        assert_eq!((t.total, t.steal), (1000, 35));
        assert!(parse("cpu  1 2 3\n").is_none(), "kernels without a steal column");
    }
}
