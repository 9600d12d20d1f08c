//! The statistics of a cohort comparison: per-step figures as ratio
//! estimators over clusters (the workflows a percentage assigns: their runs
//! and steps are not independent; the workflows are), their standard errors,
//! and the saving between two cohorts with its 95% interval.

use serde::Serialize;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.96;

/// One cluster's contribution to a figure: its total (tokens, dollars) and its steps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cluster {
    pub total: f64,
    pub steps: f64,
}

/// A per-step figure: the sum of the totals over the sum of the steps, and
/// its standard error as a ratio estimator over clusters (`None` with fewer than two).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerStep {
    pub value: f64,
    pub std_error: Option<f64>,
}

impl PerStep {
    /// `None` when the clusters hold no steps.
    pub fn of(clusters: &[Cluster]) -> Option<PerStep> {
        let steps: f64 = clusters.iter().map(|c| c.steps).sum();
        if steps <= 0.0 {
            return None;
        }
        let value = clusters.iter().map(|c| c.total).sum::<f64>() / steps;
        let n = clusters.len() as f64;
        let std_error = (clusters.len() >= 2).then(|| {
            let mean_steps = steps / n;
            let residuals: f64 = clusters.iter().map(|c| (c.total - value * c.steps).powi(2)).sum();
            (residuals / (n * (n - 1.0))).sqrt() / mean_steps
        });
        Some(PerStep { value, std_error })
    }
}

/// How much less the first cohort spends per step than the second, in
/// percent, with its 95% interval (delta method on the ratio of the two).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Saving {
    pub pct: f64,
    /// `None` when either side has no standard error (fewer than two clusters).
    pub interval_pct: Option<(f64, f64)>,
}

impl Saving {
    pub fn between(treated: PerStep, control: PerStep) -> Option<Saving> {
        if control.value <= 0.0 {
            return None;
        }
        let ratio = treated.value / control.value;
        let pct = 100.0 * (1.0 - ratio);
        let interval_pct = treated.std_error.zip(control.std_error).map(|(se_t, se_c)| {
            let relative = |se: f64, v: f64| if v > 0.0 { se / v } else { 0.0 };
            let se_ratio =
                ratio * (relative(se_t, treated.value).powi(2) + relative(se_c, control.value).powi(2)).sqrt();
            (100.0 * (1.0 - ratio - Z95 * se_ratio), 100.0 * (1.0 - ratio + Z95 * se_ratio))
        });
        Some(Saving { pct, interval_pct })
    }
}

/// The `q` quantile (0-1) of `values` by the nearest-rank method; `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (q * values.len() as f64).ceil().max(1.0) as usize;
    Some(values[rank.min(values.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_step_is_the_ratio_of_sums_with_a_cluster_error() {
        let runs = [Cluster { total: 100.0, steps: 2.0 }, Cluster { total: 300.0, steps: 2.0 }];
        let p = PerStep::of(&runs).unwrap();
        assert_eq!(p.value, 100.0);
        // Residuals 100-200 = -100 and 300-200 = 100: sqrt(20000 / 2) / 2 = 50.
        assert!((p.std_error.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(PerStep::of(&[Cluster { total: 5.0, steps: 1.0 }]).unwrap().std_error, None);
        assert_eq!(PerStep::of(&[]), None);
    }

    #[test]
    fn a_saving_has_an_interval_that_narrows_with_runs() {
        let treated = PerStep { value: 60.0, std_error: Some(3.0) };
        let control = PerStep { value: 100.0, std_error: Some(5.0) };
        let s = Saving::between(treated, control).unwrap();
        assert!((s.pct - 40.0).abs() < 1e-9);
        let (low, high) = s.interval_pct.unwrap();
        assert!(low < 40.0 && high > 40.0 && (high - 40.0 - (40.0 - low)).abs() < 1e-9);
        let tighter =
            Saving::between(PerStep { std_error: Some(1.0), ..treated }, PerStep { std_error: Some(1.5), ..control })
                .unwrap();
        let width = |s: Saving| s.interval_pct.map(|(l, h)| h - l).unwrap();
        assert!(width(tighter) < width(s));
        assert_eq!(Saving::between(treated, PerStep { value: 0.0, std_error: None }), None);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.5), Some(3.0));
        assert_eq!(quantile(&mut v, 0.95), Some(5.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }
}
