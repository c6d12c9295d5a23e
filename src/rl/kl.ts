/**
 * Per-token estimators of KL(π ‖ π_ref) from tokens sampled from π (Schulman, "Approximating KL
 * Divergence", 2020). Each takes log π and log π_ref of the sampled tokens, both [B, G] with 0 at
 * masked positions, and returns the estimate per token, 0 where both inputs are 0:
 *
 *   k1 = log π − log π_ref              unbiased, negative on tokens π_ref prefers
 *   k2 = ½ (log π − log π_ref)²         biased (its mean is not the KL), never negative
 *   k3 = (r − 1) − log r, r = π_ref/π   unbiased, never negative
 *
 * k1 and k3 are unbiased because E_π[r] = 1 when π_ref puts mass on every token π can sample.
 * When π_ref is close to π, k3 has a much smaller variance than k1.
 */
import type { Tensor } from "../torch/index.js";

/** k1 = log π − log π_ref per token. */
export function klK1(logp: Tensor, refLogp: Tensor): Tensor {
  return logp.sub(refLogp);
}

/** k2 = ½ (log π − log π_ref)² per token. */
export function klK2(logp: Tensor, refLogp: Tensor): Tensor {
  return logp.sub(refLogp).square().mul(0.5);
}

/**
 * k3 = (r − 1) − log r per token, with log r = log π_ref − log π. In float32, exp(x) − 1 − x falls
 * below 0 by up to 6e-8 when |x| is below about 3e-4 (x²/2 is then smaller than the rounding of
 * exp near 1), so the result is clamped at 0, its exact lower bound.
 */
export function klK3(logp: Tensor, refLogp: Tensor): Tensor {
  const logRatio = refLogp.sub(logp);
  return logRatio.exp().sub(1).sub(logRatio).clamp(0, null);
}
