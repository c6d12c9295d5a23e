/**
 * Conditioned parameters stored as a frozen base plus m deltas: copy i of parameter θ is
 * θ⁽ⁱ⁾ = θ₀ + δᵢ, and an example steered by w uses Σᵢ wᵢ θ⁽ⁱ⁾ = θ₀ + Σᵢ wᵢ δᵢ (w sums to 1).
 *
 * With θ₀ frozen and every δᵢ free this is the same family as m free copies, but the base path is
 * computed exactly as in the unconditioned model and the deltas are added on top. A policy whose
 * deltas are all zero therefore reproduces π_ref bit for bit at every w.
 *
 * A dense delta stores δ as [m, ...shape]. A low-rank delta (LoRA) on a linear weight [out, in]
 * stores δᵢ = scale · Bᵢ Aᵢ with A [m, rank, in] and B [m, out, rank]; B starts at zero.
 */
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { ConfigError } from "./config.js";

/** Storage layout of one conditioned parameter's m deltas. */
export type DeltaSpec = { kind: "dense" } | { kind: "lowRank"; rank: number; scale: number };

/** Storage names and shapes of the tensors a delta adds to the model's parameter map. */
export function deltaTensorShapes(name: string, shape: readonly number[], spec: DeltaSpec, m: number): Map<string, number[]> {
  if (spec.kind === "dense") return new Map([[`${name}.delta`, [m, ...shape]]]);
  if (shape.length !== 2) {
    throw new ConfigError(`a low-rank delta needs a 2-D linear weight, but "${name}" has shape [${shape}]`);
  }
  if (!Number.isInteger(spec.rank) || spec.rank < 1) {
    throw new ConfigError(`low-rank delta on "${name}": rank must be a positive integer, got ${spec.rank}`);
  }
  const [out, inFeatures] = shape as [number, number];
  return new Map([
    [`${name}.lora_a`, [m, spec.rank, inFeatures]],
    [`${name}.lora_b`, [m, out, spec.rank]],
  ]);
}

/** Per-example mixed dense delta Σᵢ w_bi δᵢ, shape [B, ...shape], for mix [B, m]. */
export function mixedDense(delta: Tensor, mix: Tensor): Tensor {
  const m = delta.size(0);
  const shape = delta.shape.slice(1);
  return mix.matmul(delta.reshape(m, -1)).reshape(mix.size(0), ...shape);
}

/** Σᵢ wᵢ δᵢ for one weight vector `w` [m], in the parameter's own shape. */
export function mergedDelta(spec: DeltaSpec, tensors: readonly Tensor[], w: Tensor): Tensor {
  if (spec.kind === "dense") {
    const delta = tensors[0]!;
    return w.matmul(delta.reshape(delta.size(0), -1)).reshape(...delta.shape.slice(1));
  }
  const [a, b] = tensors as [Tensor, Tensor];
  const [m, out, rank] = b.shape as [number, number, number];
  // Σᵢ wᵢ Bᵢ Aᵢ as one product: the scaled B factors side by side times the A factors stacked.
  const bScaled = b.mul(w.reshape(m, 1, 1)).permute(1, 0, 2).reshape(out, m * rank);
  return bScaled.matmul(a.reshape(m * rank, -1)).mul(spec.scale);
}

/**
 * Adds Σᵢ w_bi δᵢ x to the output of a linear layer for a weight delta, per example.
 * x is [B, T, in], y = x θ₀ᵀ is [B, T, out], mix is [B, m].
 */
export function addLinearWeightDelta(y: Tensor, x: Tensor, spec: DeltaSpec, tensors: readonly Tensor[], mix: Tensor): Tensor {
  const batch = x.size(0);
  const steps = x.size(1);
  const m = mix.size(1);
  const mixView = mix.reshape(batch, 1, m, 1);
  if (spec.kind === "dense") {
    const delta = tensors[0]!;
    const out = delta.size(1);
    // One matmul against the stacked deltas, then a weighted sum over copies: the layer is linear
    // in its parameters, so this equals running each example with its own merged weights.
    const perCopy = torch.linear(x, delta.reshape(m * out, -1)).reshape(batch, steps, m, out);
    return y.add(perCopy.mul(mixView).sum(2));
  }
  const [a, b] = tensors as [Tensor, Tensor];
  const [, out, rank] = b.shape as [number, number, number];
  // Mix in the rank-sized space: (w_i · A_i x) for every copy, then one matmul with the B factors
  // side by side gives Σᵢ wᵢ Bᵢ Aᵢ x.
  const projected = torch.linear(x, a.reshape(m * rank, -1)).reshape(batch, steps, m, rank).mul(mixView);
  const bSideBySide = b.permute(1, 0, 2).reshape(out, m * rank);
  return y.add(torch.linear(projected.reshape(batch, steps, m * rank), bSideBySide).mul(spec.scale));
}
