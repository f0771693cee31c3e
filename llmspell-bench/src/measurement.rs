//! One performance figure, as `llmspell bench` reports it, and the median
//! every metric reports.

use serde::Serialize;

/// A measured metric with its same-run baseline and target.
///
/// Serialises to the shape `llmspell bench --json` prints:
/// `{"metric", "value", "unit", "baseline", "ratio", "target", "met"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// The metric id (`"events.one_sub_per_s"`).
    pub metric: String,
    /// The measured value.
    pub value: f64,
    /// `"ns"`, `"us"`, `"per_s"`, `"pct"`, `"mb"`, `"calls"` or `"ratio"`.
    pub unit: &'static str,
    /// The baseline measured in the same run, if the metric has one.
    pub baseline: Option<f64>,
    /// `value / baseline`, when there is a baseline.
    pub ratio: Option<f64>,
    /// The target in words (`"≥ 2 M/s and ratio ≥ 0.3"`).
    pub target: String,
    /// Whether the target was met.
    pub met: bool,
}

impl Measurement {
    /// A measurement with no baseline and an unmet, empty target.
    pub fn new(metric: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            metric: metric.into(),
            value,
            unit,
            baseline: None,
            ratio: None,
            target: String::new(),
            met: false,
        }
    }

    /// Records the same-run baseline and the ratio `value / baseline`.
    #[must_use]
    pub fn with_baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self.ratio = (baseline != 0.0).then(|| self.value / baseline);
        self
    }

    /// Records the target and whether it was met.
    #[must_use]
    pub fn with_target(mut self, target: impl Into<String>, met: bool) -> Self {
        self.target = target.into();
        self.met = met;
        self
    }
}

/// The median of `samples` (0 for none). Sorts in place.
pub fn median(samples: &mut [f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_in_the_bench_shape() {
        let m = Measurement::new("events.one_sub_per_s", 3.0e6, "per_s")
            .with_baseline(1.0e7)
            .with_target("≥ 2 M/s and ratio ≥ 0.3", true);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["metric"], "events.one_sub_per_s");
        assert_eq!(v["unit"], "per_s");
        assert!((v["ratio"].as_f64().unwrap() - 0.3).abs() < 1e-9);
        assert_eq!(v["met"], true);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
