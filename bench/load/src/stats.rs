//! Latency samples and their percentiles. Samples are kept whole (a few
//! hundred thousand `u32` microseconds at most in any run) and sorted once:
//! exact nearest-rank percentiles, no histogram approximations to explain.

use serde_json::{json, Value};

#[derive(Debug, Default, Clone)]
pub struct Latencies {
    us: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    pub fn record(&mut self, d: std::time::Duration) {
        self.us.push(d.as_micros().min(u32::MAX as u128) as u32);
        self.sorted = false;
    }

    pub fn len(&self) -> usize {
        self.us.len()
    }

    pub fn extend(&mut self, other: Latencies) {
        self.us.extend(other.us);
        self.sorted = false;
    }

    /// Nearest-rank percentile `p` in 0..=100, in microseconds.
    pub fn percentile(&mut self, p: f64) -> Option<u32> {
        if self.us.is_empty() {
            return None;
        }
        if !self.sorted {
            self.us.sort_unstable();
            self.sorted = true;
        }
        let rank = ((p / 100.0) * self.us.len() as f64).ceil() as usize;
        Some(self.us[rank.clamp(1, self.us.len()) - 1])
    }

    /// `{count, p50_us, p90_us, p99_us, max_us}` (nulls when empty).
    pub fn json(&mut self) -> Value {
        json!({
            "count": self.len(),
            "p50_us": self.percentile(50.0),
            "p90_us": self.percentile(90.0),
            "p99_us": self.percentile(99.0),
            "max_us": self.percentile(100.0),
        })
    }

    /// `p50 0.123 ms, p99 1.234 ms, max 5.678 ms (n=1000)` for humans.
    pub fn human(&mut self) -> String {
        if self.us.is_empty() {
            return "no samples".into();
        }
        format!(
            "p50 {} ms, p99 {} ms, max {} ms (n={})",
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.percentile(100.0)),
            self.len()
        )
    }
}

pub fn ms(us: Option<u32>) -> String {
    us.map_or_else(|| "-".into(), |us| format!("{:.3}", us as f64 / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nearest_rank() {
        let mut l = Latencies::default();
        for us in 1..=100 {
            l.record(Duration::from_micros(us));
        }
        assert_eq!(l.percentile(50.0), Some(50));
        assert_eq!(l.percentile(99.0), Some(99));
        assert_eq!(l.percentile(100.0), Some(100));
        assert_eq!(l.percentile(0.0), Some(1));
    }
}
