//! Property tests of the issue-13 battery: no input panics (short, constant, huge or tiny values
//! give a value or a typed error), and the invariants each statistic must have whatever the
//! data — TLS is symmetric in the legs and equivariant under a common shift; BH q-values are
//! ≥ p, ≤ 1, monotone in p; Johansen's statistics are ordered and non-negative, invariant to
//! the legs' order up to the weights' permutation, and its weights make a basket; KPSS / VR /
//! Hurst are invariant to a constant shift of the series.

use app::analytics::basket::{analyze_basket, BasketParams};
use app::analytics::hurst::hurst;
use app::analytics::johansen::coint_johansen;
use app::analytics::kpss::{kpss, KpssLags, KpssRegression};
use app::analytics::multitest::bh_qvalues;
use app::analytics::screener::rank_pairs;
use app::analytics::tls::tls;
use app::analytics::variance_ratio::variance_ratio;
use proptest::prelude::*;

fn walk(steps: &[f64], start: f64) -> Vec<f64> {
    let mut v = start;
    steps
        .iter()
        .map(|s| {
            v += s;
            v
        })
        .collect()
}

/// Any f64 a file could smuggle in: ordinary, huge, tiny, zero, NaN, infinite.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e6f64..1e6,
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(0.0), Just(1e300), Just(-1e300), Just(1e-300)],
    ]
}

fn close(a: f64, e: f64, rtol: f64) -> bool {
    (a - e).abs() <= rtol * (1.0 + e.abs())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn nothing_panics_on_any_input(
        a in prop::collection::vec(any_value(), 0..60),
        b in prop::collection::vec(any_value(), 0..60),
        lag in 0usize..8,
        q in 0usize..20,
    ) {
        let _ = kpss(&a, KpssRegression::C, KpssLags::Auto);
        let _ = kpss(&a, KpssRegression::Ct, KpssLags::Fixed(lag));
        let _ = kpss(&a, KpssRegression::C, KpssLags::Legacy);
        let _ = variance_ratio(&a, q);
        let _ = hurst(&a, q);
        let _ = tls(&a, &b);
        let _ = coint_johansen(&[&a, &b], (lag % 3) as i32 - 1, lag);
        let _ = analyze_basket(&[&a, &b, &a], &BasketParams::default());
        let _ = rank_pairs(&[&a, &b], None, 2);
        let p: Vec<f64> = a.iter().map(|v| (v.abs() / 1e6).min(1.0)).collect();
        let _ = bh_qvalues(&p);
        let _ = bh_qvalues(&a);
    }

    #[test]
    fn tls_is_symmetric_and_shift_equivariant(
        steps in prop::collection::vec(-1.0f64..1.0, 30..200),
        noise in prop::collection::vec(-0.5f64..0.5, 200),
        slope in 0.2f64..5.0,
        shift in -1e3f64..1e3,
    ) {
        let x = walk(&steps, 100.0);
        let y: Vec<f64> = x.iter().zip(&noise).map(|(v, e)| slope * v + 3.0 + e).collect();
        if let (Ok(f), Ok(b)) = (tls(&x, &y), tls(&y, &x)) {
            prop_assert!(close(f.beta * b.beta, 1.0, 1e-9), "{} * {}", f.beta, b.beta);
            let xs: Vec<f64> = x.iter().map(|v| v + shift).collect();
            let g = tls(&xs, &y).unwrap();
            prop_assert!(close(g.beta, f.beta, 1e-8));
            prop_assert!(close(g.alpha, f.alpha - f.beta * shift, 1e-7));
        }
    }

    #[test]
    fn bh_qvalues_are_bounded_and_monotone(p in prop::collection::vec(0.0f64..=1.0, 1..300)) {
        let q = bh_qvalues(&p).unwrap();
        for (qi, pi) in q.iter().zip(&p) {
            prop_assert!(*qi >= *pi && *qi <= 1.0, "q {qi} p {pi}");
        }
        let mut idx: Vec<usize> = (0..p.len()).collect();
        idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        for w in idx.windows(2) {
            prop_assert!(q[w[0]] <= q[w[1]]);
        }
    }

    #[test]
    fn johansen_statistics_are_ordered_and_leg_order_only_permutes(
        s1 in prop::collection::vec(-1.0f64..1.0, 80..160),
        s2 in prop::collection::vec(-1.0f64..1.0, 160),
        s3 in prop::collection::vec(-1.0f64..1.0, 160),
    ) {
        let n = s1.len();
        let a = walk(&s1, 50.0);
        let b: Vec<f64> = a.iter().zip(&s2[..n]).map(|(v, e)| 0.7 * v + e).collect();
        let c = walk(&s3[..n], 20.0);
        let r = coint_johansen(&[&a, &b, &c], 0, 1).unwrap();
        for i in 0..3 {
            prop_assert!(r.eig[i] >= -1e-12 && r.eig[i] < 1.0);
            prop_assert!(r.lr1[i] >= r.lr2[i] - 1e-9);
            if i > 0 {
                prop_assert!(r.eig[i - 1] >= r.eig[i]);
                prop_assert!(r.lr1[i - 1] >= r.lr1[i]);
            }
        }
        let p = coint_johansen(&[&c, &a, &b], 0, 1).unwrap();
        for i in 0..3 {
            prop_assert!(close(p.eig[i], r.eig[i], 1e-7), "{} vs {}", p.eig[i], r.eig[i]);
        }
        // The first eigenvector, up to sign, with its entries permuted like the legs.
        let w = r.evec.iter().map(|row| row[0]).collect::<Vec<_>>();
        let v = p.evec.iter().map(|row| row[0]).collect::<Vec<_>>();
        let s = if (v[1] * w[0]) >= 0.0 { 1.0 } else { -1.0 };
        let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (got, exp) in [(v[1], w[0]), (v[2], w[1]), (v[0], w[2])] {
            prop_assert!((s * got - exp).abs() <= 1e-6 * scale, "{v:?} vs {w:?}");
        }
    }

    #[test]
    fn spread_tests_ignore_a_constant_shift(
        steps in prop::collection::vec(-1.0f64..1.0, 120..300),
        shift in -1e4f64..1e4,
    ) {
        let mut u = 0.0;
        let s: Vec<f64> = steps.iter().map(|e| { u = 0.8 * u + e; u }).collect();
        let t: Vec<f64> = s.iter().map(|v| v + shift).collect();
        if let (Ok(a), Ok(b)) = (kpss(&s, KpssRegression::C, KpssLags::Auto), kpss(&t, KpssRegression::C, KpssLags::Auto)) {
            prop_assert_eq!(a.lags, b.lags);
            prop_assert!(close(a.stat, b.stat, 1e-6));
        }
        let (a, b) = (variance_ratio(&s, 4).unwrap(), variance_ratio(&t, 4).unwrap());
        prop_assert!(close(a.vr, b.vr, 1e-8));
        let (a, b) = (hurst(&s, 50).unwrap(), hurst(&t, 50).unwrap());
        prop_assert!(close(a, b, 1e-8));
    }
}
