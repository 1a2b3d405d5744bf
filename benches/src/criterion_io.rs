//! Reads criterion's saved estimates, so the report can print criterion's mean beside its own.

use std::path::{Path, PathBuf};

/// Where criterion saved the estimates of `group/function[/parameter]` under `dir`.
pub fn estimates_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(id).join("new").join("estimates.json")
}

/// Criterion's mean point estimate (ns) for the bench `id` (`group/function[/parameter]`), if
/// criterion has run it.
pub fn mean_ns(dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(estimates_path(dir, id)).ok()?;
    point_estimate(&text, "mean")
}

/// Extracts `"<field>":{... "point_estimate":X ...}` from criterion's estimates JSON.
fn point_estimate(json: &str, field: &str) -> Option<f64> {
    let at = json.find(&format!("\"{field}\""))?;
    let rest = &json[at..];
    let pe = rest.find("\"point_estimate\"")?;
    let num = rest[pe + "\"point_estimate\"".len()..]
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace());
    let end = num
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .unwrap_or(num.len());
    num[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::point_estimate;

    #[test]
    fn reads_the_mean() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.5e3,"standard_error":0.1},"median":{"point_estimate":7.0}}"#;
        assert_eq!(point_estimate(json, "mean"), Some(2500.0));
        assert_eq!(point_estimate(json, "median"), Some(7.0));
        assert_eq!(point_estimate(json, "slope"), None);
    }
}
