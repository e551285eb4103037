//! Medians and percentiles of samples.

use std::time::Duration;

/// The `p` quantile (0.0..=1.0, nearest rank) of unsorted samples; `None` when empty.
pub fn quantile<T: Copy + PartialOrd>(samples: &[T], p: f64) -> Option<T> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some(s[((s.len() - 1) as f64 * p).round() as usize])
}

/// "median X, p99 Y, max Z (n=N)" for durations, in milliseconds.
pub fn ms_summary(samples: &[Duration]) -> String {
    let ms = |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3));
    format!(
        "median {}, p99 {}, max {} (n={})",
        ms(quantile(samples, 0.5)),
        ms(quantile(samples, 0.99)),
        ms(quantile(samples, 1.0)),
        samples.len()
    )
}
