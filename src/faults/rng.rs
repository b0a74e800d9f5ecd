//! The random source of the faults: SplitMix64, seeded from the [`Faults`](super::Faults)
//! seed.
//!
//! The algorithm is written out here rather than taken from a crate so that a seed gives the
//! same faults in every version of this crate: a dependency may change its generator in a
//! minor release, and a recorded seed would then replay something else.

/// SplitMix64 (Steele, Lea and Flood, 2014): one 64-bit state, every seed usable.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    /// A generator for one stream of choices: `seed` is the user's, `stream` tells apart the
    /// streams drawn from one seed (each connection's, the datagrams').
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(GAMMA).rotate_left(17));
        // Mix once, so that neighbouring streams do not start from neighbouring states.
        rng.next_u64();
        rng
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`, from the top 53 bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (always for 1, never for 0). One draw is made whatever `p`,
    /// so the choices that follow do not depend on which probabilities were certain.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A number in `0..n` (`n` > 0), by multiplication rather than a biased remainder.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_stream_give_the_same_numbers() {
        let a: Vec<u64> = {
            let mut rng = Rng::new(7, 1);
            (0..8).map(|_| rng.next_u64()).collect()
        };
        let mut rng = Rng::new(7, 1);
        assert!(a.iter().all(|&x| x == rng.next_u64()));
        let mut other = Rng::new(7, 2);
        assert!(a.iter().any(|&x| x != other.next_u64()));
        let mut reseeded = Rng::new(8, 1);
        assert!(a.iter().any(|&x| x != reseeded.next_u64()));
    }

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // The first outputs of the reference implementation seeded with 1234567.
        let mut rng = Rng(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn chance_and_below_stay_in_range() {
        let mut rng = Rng::new(1, 0);
        assert!((0..1000).all(|_| rng.chance(1.0)));
        assert!((0..1000).all(|_| !rng.chance(0.0)));
        assert!((0..1000).all(|_| rng.below(7) < 7));
        let heads = (0..10_000).filter(|_| rng.chance(0.3)).count();
        assert!((2_500..3_500).contains(&heads), "{heads}");
    }
}
