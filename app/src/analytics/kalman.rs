//! Kalman-filter dynamic hedge ratio: state `[beta, alpha]` following a random walk, observation
//! `y_t = beta_t x_t + alpha_t + e_t` (pykalman's filter with `initial_state_covariance = P0`).

use super::error::{check_same_len, AnalyticsError, Result};
use nalgebra::{Matrix2, Vector2};
use serde::{Deserialize, Serialize};

/// Filter parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(non_snake_case)]
pub struct KalmanParams {
    /// Transition noise `Vw = delta / (1 - delta)` (0 < delta < 1).
    pub delta: f64,
    /// Observation noise variance.
    pub Ve: f64,
    /// Initial state covariance (row-major 2x2), used as `R_0` without a transition step.
    pub P0: [[f64; 2]; 2],
    /// Initial state `[beta, alpha]`.
    pub theta0: [f64; 2],
}

impl Default for KalmanParams {
    fn default() -> Self {
        KalmanParams { delta: 1e-4, Ve: 1e-3, P0: [[1.0, 0.0], [0.0, 1.0]], theta0: [0.0, 0.0] }
    }
}

/// One filter step's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct KalmanStep {
    /// Filtered `beta_t` (after seeing `y_t`).
    pub beta: f64,
    /// Filtered `alpha_t`.
    pub alpha: f64,
    /// Innovation `y_t - yhat_t`.
    pub e: f64,
    /// Innovation variance.
    pub Q: f64,
    /// One-step prediction `F_t theta_(t-1)`.
    pub yhat: f64,
    /// Posterior residual `y_t - beta_t x_t - alpha_t`.
    pub spread: f64,
}

/// Incremental filter; [`kalman_filter`] is a loop over [`KalmanFilter::update`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KalmanFilter {
    vw: f64,
    ve: f64,
    theta: Vector2<f64>,
    p: Matrix2<f64>,
    started: bool,
}

impl KalmanFilter {
    /// New filter; errors unless `0 < delta < 1`, `Ve > 0` and everything is finite.
    pub fn new(params: &KalmanParams) -> Result<KalmanFilter> {
        let ok = params.delta > 0.0
            && params.delta < 1.0
            && params.Ve > 0.0
            && params.Ve.is_finite()
            && params.P0.iter().flatten().chain(params.theta0.iter()).all(|v| v.is_finite());
        if !ok {
            return Err(AnalyticsError::InvalidParameter(
                "kalman: need 0 < delta < 1, Ve > 0 and finite P0 / theta0".into(),
            ));
        }
        Ok(KalmanFilter {
            vw: params.delta / (1.0 - params.delta),
            ve: params.Ve,
            theta: Vector2::new(params.theta0[0], params.theta0[1]),
            p: Matrix2::new(params.P0[0][0], params.P0[0][1], params.P0[1][0], params.P0[1][1]),
            started: false,
        })
    }

    /// Current state `[beta, alpha]` (the prior before the first update).
    pub fn state(&self) -> (f64, f64) {
        (self.theta[0], self.theta[1])
    }

    /// Process one observation `(x_t, y_t)`.
    pub fn update(&mut self, x: f64, y: f64) -> KalmanStep {
        let r = if self.started { self.p + Matrix2::identity() * self.vw } else { self.p };
        self.started = true;
        let f = Vector2::new(x, 1.0);
        let yhat = f.dot(&self.theta);
        let e = y - yhat;
        let rf = r * f; // R F'
        let q = f.dot(&rf) + self.ve;
        let k = rf / q;
        self.theta += k * e;
        let fr = r.transpose() * f; // (F R)'
        self.p = r - k * fr.transpose();
        let beta = self.theta[0];
        let alpha = self.theta[1];
        KalmanStep { beta, alpha, e, Q: q, yhat, spread: y - beta * x - alpha }
    }
}

/// Per-bar filter outputs (golden field names).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[allow(non_snake_case)]
pub struct KalmanOutput {
    /// Filtered hedge ratio.
    pub beta: Vec<f64>,
    /// Filtered intercept.
    pub alpha: Vec<f64>,
    /// Innovations.
    pub e: Vec<f64>,
    /// Innovation variances.
    pub Q: Vec<f64>,
    /// One-step predictions.
    pub yhat: Vec<f64>,
    /// Posterior residuals.
    pub spread: Vec<f64>,
}

/// Run the filter over a whole series.
pub fn kalman_filter(x: &[f64], y: &[f64], params: &KalmanParams) -> Result<KalmanOutput> {
    check_same_len("kalman", x.len(), y.len())?;
    let mut kf = KalmanFilter::new(params)?;
    let n = x.len();
    let mut out = KalmanOutput {
        beta: Vec::with_capacity(n),
        alpha: Vec::with_capacity(n),
        e: Vec::with_capacity(n),
        Q: Vec::with_capacity(n),
        yhat: Vec::with_capacity(n),
        spread: Vec::with_capacity(n),
    };
    for (a, b) in x.iter().zip(y) {
        let s = kf.update(*a, *b);
        out.beta.push(s.beta);
        out.alpha.push(s.alpha);
        out.e.push(s.e);
        out.Q.push(s.Q);
        out.yhat.push(s.yhat);
        out.spread.push(s.spread);
    }
    Ok(out)
}
