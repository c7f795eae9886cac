//! Token sampling: penalties, an allowed-token mask (constrained decoding), temperature,
//! top-k, top-p. Greedy at temperature 0; reproducible with a seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// OpenAI-style sampling parameters (plus vLLM's `top_k` and `repetition_penalty`).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingParams {
    pub temperature: f32,
    /// 1.0 disables.
    pub top_p: f32,
    /// 0 disables.
    pub top_k: usize,
    pub presence_penalty: f32,
    pub frequency_penalty: f32,
    /// 1.0 disables; applies to prompt and output tokens, HF/vLLM style.
    pub repetition_penalty: f32,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            repetition_penalty: 1.0,
        }
    }
}

/// Whether token `t` is set in a bit mask of 32-bit words (llguidance's layout).
#[inline]
pub fn mask_allows(mask: &[u32], t: usize) -> bool {
    mask.get(t / 32).is_some_and(|w| (w >> (t % 32)) & 1 == 1)
}

pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
}

impl Sampler {
    pub fn new(params: SamplingParams, seed: u64) -> Self {
        Self {
            params,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Picks the next token from `logits` (modified in place). `allowed`, when given,
    /// is a bit mask of permitted tokens. Returns `None` when no token is allowed.
    pub fn sample(
        &mut self,
        logits: &mut [f32],
        allowed: Option<&[u32]>,
        prompt: &[u32],
        generated: &[u32],
    ) -> Option<u32> {
        let p = &self.params;
        if p.presence_penalty != 0.0 || p.frequency_penalty != 0.0 {
            let mut counts: HashMap<u32, u32> = HashMap::new();
            for &t in generated {
                *counts.entry(t).or_default() += 1;
            }
            for (t, n) in counts {
                if let Some(l) = logits.get_mut(t as usize) {
                    *l -= p.frequency_penalty * n as f32 + p.presence_penalty;
                }
            }
        }
        if p.repetition_penalty != 1.0 && p.repetition_penalty > 0.0 {
            let mut seen = std::collections::HashSet::new();
            for &t in prompt.iter().chain(generated) {
                if seen.insert(t) {
                    if let Some(l) = logits.get_mut(t as usize) {
                        *l = if *l > 0.0 {
                            *l / p.repetition_penalty
                        } else {
                            *l * p.repetition_penalty
                        };
                    }
                }
            }
        }
        if let Some(mask) = allowed {
            for (t, l) in logits.iter_mut().enumerate() {
                if !mask_allows(mask, t) {
                    *l = f32::NEG_INFINITY;
                }
            }
        }

        // Greedy: the first maximum, so ties resolve the same way every time.
        let mut best: Option<(usize, f32)> = None;
        for (t, &l) in logits.iter().enumerate() {
            if l > f32::NEG_INFINITY && best.is_none_or(|(_, b)| l > b) {
                best = Some((t, l));
            }
        }
        let (argmax, max) = best?;
        if p.temperature <= 1e-5 {
            return Some(argmax as u32);
        }

        let inv_t = 1.0 / p.temperature;
        let mut cands: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(_, &l)| l > f32::NEG_INFINITY)
            .map(|(t, &l)| (t as u32, (l - max) * inv_t))
            .collect();
        // Descending by logit, ties by id: a fixed order keeps seeded runs reproducible.
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if p.top_k > 0 && p.top_k < cands.len() {
            cands.select_nth_unstable_by(p.top_k - 1, order);
            cands.truncate(p.top_k);
        }
        cands.sort_unstable_by(order);
        let mut probs: Vec<f32> = cands.iter().map(|c| c.1.exp()).collect();
        let total: f32 = probs.iter().sum();
        for q in &mut probs {
            *q /= total;
        }
        let mut keep = probs.len();
        if p.top_p < 1.0 {
            let mut cum = 0f32;
            for (i, q) in probs.iter().enumerate() {
                cum += q;
                if cum >= p.top_p {
                    keep = i + 1;
                    break;
                }
            }
        }
        let mass: f32 = probs[..keep].iter().sum();
        let mut r = self.rng.gen::<f32>() * mass;
        for (c, q) in cands[..keep].iter().zip(&probs) {
            if r < *q {
                return Some(c.0);
            }
            r -= q;
        }
        Some(cands[keep - 1].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_max_and_respects_mask() {
        let mut s = Sampler::new(
            SamplingParams {
                temperature: 0.0,
                ..Default::default()
            },
            1,
        );
        assert_eq!(s.sample(&mut [0.1, 3.0, 2.0], None, &[], &[]), Some(1));
        let mask = [0b101u32];
        assert_eq!(
            s.sample(&mut [0.1, 3.0, 2.0], Some(&mask), &[], &[]),
            Some(2)
        );
        assert_eq!(s.sample(&mut [0.1, 3.0], Some(&[0u32]), &[], &[]), None);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_top_k_limits() {
        let logits: Vec<f32> = (0..100).map(|i| (i % 7) as f32 * 0.3).collect();
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 3,
            ..Default::default()
        };
        let run = |seed| {
            let mut s = Sampler::new(params.clone(), seed);
            (0..50)
                .map(|_| s.sample(&mut logits.clone(), None, &[], &[]).unwrap())
                .collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        // The 3 best logits (value 1.8) are tokens 6, 13, 20 ...; top-k 3 keeps the
        // first three by id.
        assert!(a.iter().all(|t| [6, 13, 20].contains(t)), "{a:?}");
    }

    #[test]
    fn penalties_lower_repeated_tokens() {
        let mut s = Sampler::new(
            SamplingParams {
                temperature: 0.0,
                frequency_penalty: 1.0,
                ..Default::default()
            },
            1,
        );
        // Token 0 leads by 1.5 but was generated twice: 2.0 - 2 * 1.0 < 0.5.
        assert_eq!(s.sample(&mut [2.0, 0.5], None, &[], &[0, 0]), Some(1));
    }
}
