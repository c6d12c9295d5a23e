/** The REINFORCE loss of the RL loop. */
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/**
 * Returns −1/n Σᵢ Aᵢ Σₜ log π(yᵢₜ) for per-token log-probabilities `logp` [N, G] (0 at padding) and
 * one advantage per sequence. Here n counts the scored sequences: N, unless some are unscorable,
 * because those have advantage 0 and do not count. It is a mean over sequences of summed
 * token log-probabilities, so every sequence weighs the same whatever its length. Accumulating
 * gradients over equal-sized micro-batches therefore gives the full batch's gradient when each
 * micro-batch loss is divided by the number of micro-batches.
 */
export function policyGradientLoss(logp: Tensor, advantages: readonly number[], scored = advantages.length): Tensor {
  if (advantages.length !== logp.size(0)) {
    throw new RangeError(`policyGradientLoss: ${logp.size(0)} sequences but ${advantages.length} advantages`);
  }
  if (!(Number.isInteger(scored) && scored >= 1 && scored <= advantages.length)) {
    throw new RangeError(`policyGradientLoss: ${scored} scored sequences of ${advantages.length}; need 1 to ${advantages.length}`);
  }
  const terms = logp.sum(1).mul(torch.tensor([...advantages]));
  return (scored === advantages.length ? terms.mean() : terms.sum().div(scored)).neg();
}
