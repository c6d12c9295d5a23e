/**
 * AdamW and gradient clipping. The optimizer's moments are ordinary tensors owned here, so a
 * checkpoint can save and restore them exactly.
 */
import { native } from "./native.js";
import { keep } from "./scope.js";
import { Tensor } from "./tensor.js";
import { noGrad, zeros } from "./functional.js";

/** One named parameter with its own weight decay. */
export interface ParamGroupEntry {
  name: string;
  param: Tensor;
  weightDecay: number;
}

/** Hyperparameters of AdamW, as in torch.optim.AdamW. */
export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** AdamW (decoupled weight decay) with the arithmetic of torch.optim.AdamW; one native call per step. */
export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Number of updates applied so far. */
  stepCount = 0;
  readonly entries: readonly ParamGroupEntry[];
  readonly expAvg: Tensor[];
  readonly expAvgSq: Tensor[];

  constructor(entries: readonly ParamGroupEntry[], options: AdamWOptions) {
    if (!(options.lr >= 0)) throw new RangeError(`AdamW: lr must be a non-negative number, got ${options.lr}`);
    this.entries = entries;
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.expAvg = entries.map((e) => keep(zeros(e.param.shape, e.param.dtype)));
    this.expAvgSq = entries.map((e) => keep(zeros(e.param.shape, e.param.dtype)));
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    this.stepCount += 1;
    noGrad(() =>
      native.adamw_step(
        this.entries.map((e) => e.param.handle),
        this.expAvg.map((t) => t.handle),
        this.expAvgSq.map((t) => t.handle),
        this.stepCount,
        this.lr,
        this.beta1,
        this.beta2,
        this.eps,
        this.entries.map((e) => e.weightDecay),
      ),
    );
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    native.zero_grad(this.entries.map((e) => e.param.handle));
  }

  /** Frees the moment tensors. */
  dispose(): void {
    for (const t of [...this.expAvg, ...this.expAvgSq]) t.dispose();
  }
}

/**
 * Scales gradients in place so that their joint L2 norm is at most `maxNorm`. Returns the norm
 * before clipping; NaN or Infinity means some gradient is not finite and nothing was scaled.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return native.clip_grad_norm_(params.map((p) => p.handle), maxNorm);
}
