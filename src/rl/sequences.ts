/**
 * Packs prompts and sampled completions into one batch and scores the completion tokens.
 * Prompts are left-padded exactly as in sampling, so the log-probabilities computed here equal the
 * ones the sampler drew from (before any update).
 */
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { CausalLM } from "../model/gpt.js";

/** A packed batch: [pad… prompt | completion pad…]. */
export interface PackedBatch {
  /** Input ids [B, Lp + G - 1]: the last completion token is never an input. */
  ids: Tensor;
  positions: Tensor;
  keyMask: Tensor;
  /** Completion tokens [B, G] (int64), 0 where masked. */
  targets: Tensor;
  /** 1 for real completion tokens (up to and including end of text), else 0; [B, G] float32. */
  tokenMask: Tensor;
  /** Padded prompt length Lp. */
  promptLength: number;
  /** Padded completion length G. */
  completionLength: number;
}

/** Packs rows of (prompt, completion); every completion must have at least one token. */
export function packBatch(prompts: readonly number[][], completions: readonly number[][], padId: number): PackedBatch {
  const batch = prompts.length;
  const lp = Math.max(...prompts.map((p) => p.length));
  const g = Math.max(...completions.map((c) => c.length));
  if (g < 1) throw new RangeError("packBatch: every completion is empty");
  const width = lp + g - 1;
  const ids = new BigInt64Array(batch * width).fill(BigInt(padId));
  const positions = new BigInt64Array(batch * width);
  const keyMask = new Uint8Array(batch * width);
  const targets = new BigInt64Array(batch * g);
  const tokenMask = new Float32Array(batch * g);
  for (let b = 0; b < batch; b++) {
    const p = prompts[b]!;
    const c = completions[b]!;
    const offset = lp - p.length;
    for (let j = 0; j < p.length; j++) {
      ids[b * width + offset + j] = BigInt(p[j]!);
      positions[b * width + offset + j] = BigInt(j);
      keyMask[b * width + offset + j] = 1;
    }
    for (let t = 0; t < g - 1; t++) {
      positions[b * width + lp + t] = BigInt(p.length + t);
      if (t < c.length) {
        ids[b * width + lp + t] = BigInt(c[t]!);
        keyMask[b * width + lp + t] = 1;
      }
    }
    for (let t = 0; t < c.length; t++) {
      targets[b * g + t] = BigInt(c[t]!);
      tokenMask[b * g + t] = 1;
    }
  }
  return {
    ids: torch.fromArray(ids, [batch, width]),
    positions: torch.fromArray(positions, [batch, width]),
    keyMask: torch.fromArray(keyMask, [batch, width], "bool"),
    targets: torch.fromArray(targets, [batch, g]),
    tokenMask: torch.fromArray(tokenMask, [batch, g]),
    promptLength: lp,
    completionLength: g,
  };
}

/**
 * log π(yₜ | x, y<ₜ) of every completion token, [B, G], 0 where masked. `temperature` divides the
 * logits, matching a sampler run at that temperature.
 */
export function completionLogProbs(model: CausalLM, packed: PackedBatch, mix: Tensor | null, options: { train?: boolean; temperature?: number } = {}): Tensor {
  const batch = packed.ids.size(0);
  const g = packed.completionLength;
  let logits = model.forward(packed.ids, {
    positions: packed.positions,
    keyMask: packed.keyMask,
    mix,
    train: options.train ?? false,
    logitsFrom: packed.promptLength - 1,
  });
  const temperature = options.temperature ?? 1;
  if (temperature !== 1) logits = logits.div(temperature);
  const nll = torch.crossEntropy(logits.reshape(batch * g, model.config.vocabSize), packed.targets.reshape(batch * g), {
    reduction: "none",
  });
  return nll.neg().reshape(batch, g).mul(packed.tokenMask);
}
