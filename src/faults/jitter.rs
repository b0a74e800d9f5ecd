//! The jitter of a delay: how far each echo's delay strays from the mean, drawn from a
//! [`Distribution`] as netem draws it, with netem's correlation between consecutive draws.
//!
//! netem turns one uniform number into a delay through a table of the distribution's
//! quantiles, scaled so the standard deviation is the jitter (`delay + jitter * t`); this
//! module computes the same quantiles instead of reading a table, so the shapes are netem's:
//! `normal` is the standard normal (clipped at ±4, as netem's table), `pareto` a Pareto of
//! shape 3 moved to mean 0 (`(x - 1.5) * 4/3`, clipped at 4), `paretonormal` netem's blend of
//! the two, `(normal + 3 * pareto) / 4` at the same quantile.

use std::time::Duration;

use super::Rng;

/// The shape of a delay's jitter (netem's `distribution`): see
/// [`Fault::delay_with`](crate::Fault::delay_with).
///
/// # Examples
///
/// ```
/// use socket_echo::{Distribution, Fault, FaultKind};
///
/// let fault: Fault = "delay=50ms,jitter=10ms,dist=pareto".parse()?;
/// assert!(matches!(
///     fault.kind(),
///     FaultKind::Delay { distribution: Distribution::Pareto, .. }
/// ));
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Distribution {
    /// Every delay from `delay - jitter` to `delay + jitter` equally likely. SPEC:
    /// `dist=uniform` (the default).
    #[default]
    Uniform,
    /// Normal, with the jitter as standard deviation (clipped at 4 of them). SPEC:
    /// `dist=normal`.
    Normal,
    /// Pareto of shape 3, moved to mean 0 and scaled as netem's table: never less than
    /// `delay - 2/3 jitter`, a long tail above (clipped at `delay + 4 jitter`). SPEC:
    /// `dist=pareto`.
    Pareto,
    /// netem's blend: a quarter of the normal draw plus three quarters of the Pareto one, at
    /// the same quantile. SPEC: `dist=paretonormal`.
    ParetoNormal,
}

impl Distribution {
    /// The name in the SPEC syntax: `uniform`, `normal`, `pareto`, `paretonormal`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(socket_echo::Distribution::ParetoNormal.name(), "paretonormal");
    /// ```
    pub const fn name(&self) -> &'static str {
        match self {
            Distribution::Uniform => "uniform",
            Distribution::Normal => "normal",
            Distribution::Pareto => "pareto",
            Distribution::ParetoNormal => "paretonormal",
        }
    }

    /// The distribution named `name` in the SPEC syntax.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            Distribution::Uniform,
            Distribution::Normal,
            Distribution::Pareto,
            Distribution::ParetoNormal,
        ]
        .into_iter()
        .find(|dist| dist.name() == name)
    }

    /// The deviation, in jitters, at the quantile `u` of `[0, 1)`.
    fn quantile(self, u: f64) -> f64 {
        let t = match self {
            Distribution::Uniform => return 2.0 * u - 1.0,
            Distribution::Normal => normal(u),
            Distribution::Pareto => pareto(u),
            Distribution::ParetoNormal => (normal(u) + 3.0 * pareto(u)) / 4.0,
        };
        t.clamp(-CLIP, CLIP)
    }
}

/// How many jitters a table draw goes at most either way (netem's tables hold 16-bit
/// values of 1/8192).
const CLIP: f64 = 4.0;

/// netem's Pareto: shape 3, minus its mean 1.5, times 4/3, clipped as its table (before
/// `paretonormal` blends it).
fn pareto(u: f64) -> f64 {
    (((1.0 - u).powf(-1.0 / 3.0) - 1.5) * 4.0 / 3.0).min(CLIP)
}

/// The standard normal quantile (Acklam's rational approximation, relative error under
/// 1.2e-9), for `u` in `[0, 1)`.
fn normal(u: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |p: f64| {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if u <= 0.0 {
        return -CLIP;
    }
    if u < LOW {
        tail(u)
    } else if u <= 1.0 - LOW {
        let q = u - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail(1.0 - u)
    }
}

/// The draws of one delay fault for one connection (or for the datagrams): its parameters,
/// and the last uniform number, which the next one is correlated with.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    delay: Duration,
    jitter: Duration,
    distribution: Distribution,
    correlation: f64,
    last: Option<f64>,
}

impl Jitter {
    pub(crate) fn new(
        delay: Duration,
        jitter: Duration,
        distribution: Distribution,
        correlation: f64,
    ) -> Self {
        Jitter {
            delay,
            jitter,
            distribution,
            correlation,
            last: None,
        }
    }

    /// The next delay, never below zero. One number is drawn whatever the parameters, so
    /// the draws that follow do not depend on them; none with no jitter.
    pub(crate) fn draw(&mut self, rng: &mut Rng) -> Duration {
        if self.jitter.is_zero() {
            return self.delay;
        }
        let fresh = rng.unit();
        // netem's correlation: a weighted mean of the fresh number and the last one.
        let u = match self.last {
            Some(last) => (1.0 - self.correlation) * fresh + self.correlation * last,
            None => fresh,
        };
        self.last = Some(u);
        let t = self.distribution.quantile(u);
        let seconds = self.delay.as_secs_f64() + t * self.jitter.as_secs_f64();
        Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(self.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mean, standard deviation, lag-1 autocorrelation and minimum of `n` delays, in
    /// milliseconds, with seed `seed`.
    fn sample(
        distribution: Distribution,
        correlation: f64,
        seed: u64,
        n: usize,
    ) -> (f64, f64, f64, f64) {
        let mut rng = Rng::new(seed, 0);
        let mut jitter = Jitter::new(
            Duration::from_millis(100),
            Duration::from_millis(10),
            distribution,
            correlation,
        );
        let draws: Vec<f64> = (0..n)
            .map(|_| jitter.draw(&mut rng).as_secs_f64() * 1e3)
            .collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n as f64;
        let lag1 = draws
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / (n - 1) as f64
            / var;
        let min = draws.iter().copied().fold(f64::INFINITY, f64::min);
        (mean, var.sqrt(), lag1, min)
    }

    fn near(value: f64, expected: f64, tolerance: f64) -> bool {
        (value - expected).abs() <= tolerance
    }

    #[test]
    fn each_distribution_has_the_mean_and_spread_of_netems() {
        // Delay 100 ms, jitter 10 ms, 200,000 seeded draws each. The expected figures are
        // the distributions' own: uniform sd = jitter / sqrt(3); normal sd = jitter; pareto
        // (clipped as netem's table) mean -0.0329 and sd 0.8209 jitters; paretonormal mean
        // -0.0247 and sd 0.8349 jitters (both by integration over the quantile).
        let n = 200_000;
        for (distribution, mean, sd) in [
            (Distribution::Uniform, 100.0, 10.0 / 3f64.sqrt()),
            (Distribution::Normal, 100.0, 10.0),
            (Distribution::Pareto, 100.0 - 0.329, 8.209),
            (Distribution::ParetoNormal, 100.0 - 0.247, 8.349),
        ] {
            let (m, s, lag1, _) = sample(distribution, 0.0, 7, n);
            assert!(
                near(m, mean, 0.05),
                "{distribution:?}: mean {m}, expected {mean}"
            );
            assert!(near(s, sd, 0.05), "{distribution:?}: sd {s}, expected {sd}");
            assert!(near(lag1, 0.0, 0.01), "{distribution:?}: lag-1 {lag1}");
        }
    }

    #[test]
    fn the_shapes_differ_where_netems_do() {
        let n = 100_000;
        // Uniform stays within delay ± jitter; Pareto never goes below delay - 2/3 jitter
        // but its tail goes far above; the normal goes below both.
        let (_, _, _, uniform_min) = sample(Distribution::Uniform, 0.0, 3, n);
        let (_, _, _, pareto_min) = sample(Distribution::Pareto, 0.0, 3, n);
        let (_, _, _, normal_min) = sample(Distribution::Normal, 0.0, 3, n);
        assert!(uniform_min >= 90.0, "{uniform_min}");
        assert!(pareto_min >= 100.0 - 20.0 / 3.0 - 1e-9, "{pareto_min}");
        assert!(normal_min < 70.0, "{normal_min}");
        let mut rng = Rng::new(3, 0);
        let mut jitter = Jitter::new(
            Duration::from_millis(100),
            Duration::from_millis(10),
            Distribution::Pareto,
            0.0,
        );
        let beyond_two = (0..n)
            .filter(|_| jitter.draw(&mut rng) > Duration::from_millis(120))
            .count();
        // P(t > 2) = P(x > 3) = 1/27 for the Pareto of shape 3.
        let share = beyond_two as f64 / n as f64;
        assert!(near(share, 1.0 / 27.0, 0.002), "{share}");
    }

    #[test]
    fn correlation_ties_each_draw_to_the_last_as_netem_does() {
        // netem's correlation rho is the weight of the last number: the lag-1
        // autocorrelation of the draws is rho, the mean stays, and the spread narrows by
        // sqrt((1 - rho) / (1 + rho)).
        let n = 200_000;
        let (m, s, lag1, _) = sample(Distribution::Uniform, 0.5, 11, n);
        assert!(near(lag1, 0.5, 0.01), "lag-1 {lag1}");
        assert!(near(m, 100.0, 0.05), "mean {m}");
        let expected = 10.0 / 3f64.sqrt() * (0.5f64 / 1.5).sqrt();
        assert!(near(s, expected, 0.05), "sd {s}, expected {expected}");
        let (_, _, lag1, _) = sample(Distribution::Normal, 0.9, 11, n);
        assert!(lag1 > 0.85, "lag-1 {lag1}");
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let draws = |seed| {
            let mut rng = Rng::new(seed, 4);
            let mut jitter = Jitter::new(
                Duration::from_millis(50),
                Duration::from_millis(20),
                Distribution::ParetoNormal,
                0.25,
            );
            (0..100).map(|_| jitter.draw(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draws(1), draws(1));
        assert_ne!(draws(1), draws(2));
    }

    #[test]
    fn the_normal_quantile_is_accurate() {
        for (u, z) in [
            (0.5, 0.0),
            (0.841_344_746_068_543, 1.0),
            (0.022_750_131_948_179, -2.0),
            (0.998_650_101_968_37, 3.0),
        ] {
            assert!(near(normal(u), z, 1e-6), "{u}: {}", normal(u));
        }
        assert_eq!(Distribution::Normal.quantile(0.0), -CLIP);
    }
}
