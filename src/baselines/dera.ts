/**
 * DeRa-style KL steering (Liu et al., 2024, "Decoding-time Realignment"): a policy aligned with
 * KL coefficient α₀ is approximately π_ref·exp(r/α₀), so the policy for another coefficient α is
 * approximated by decoding from softmax((1 − λ)·logits_ref + λ·logits_aligned) with λ = α₀/α.
 * λ > 1 (α < α₀) extrapolates beyond the aligned policy.
 */
import type { Gpt } from "../model/gpt.js";
import { LogitMixture } from "../model/logit-mixture.js";
import type { Decoder, Steering, SteerablePolicy } from "../clp/steerable.js";
import { WeightError } from "../clp/weights.js";
import type { Tokenizer } from "../tokenizer/bpe.js";

/** Returns the aligned policy's α₀: its training KL coefficient. */
function trainedKl(policy: SteerablePolicy): number {
  const meta = (policy as { metadata?: { klCoef?: number } }).metadata;
  if (meta?.klCoef === undefined || !(meta.klCoef > 0)) {
    throw new WeightError(`DeRa needs an aligned policy trained with a KL coefficient > 0; this ${policy.kind} policy records none`);
  }
  return meta.klCoef;
}

/**
 * Steers any policy's KL strength at decoding time by mixing its logits with π_ref's. The DeRa
 * policy takes ownership of both models.
 */
export class DeraPolicy implements SteerablePolicy {
  readonly kind = "dera" as const;
  readonly objectives: readonly string[];
  readonly tokenizer: Tokenizer;
  /** α₀ of the aligned policy. */
  readonly alignedKl: number;

  constructor(
    readonly aligned: SteerablePolicy,
    readonly reference: Gpt,
  ) {
    this.objectives = aligned.objectives;
    this.tokenizer = aligned.tokenizer;
    this.alignedKl = trainedKl(aligned);
    if (reference.config.vocabSize !== aligned.tokenizer.vocabSize) {
      throw new WeightError(`DeRa: π_ref has ${reference.config.vocabSize} tokens but the aligned policy has ${aligned.tokenizer.vocabSize}; they must share a vocabulary`);
    }
  }

  /** λ = α₀ / α for the requested α (α₀ when none is given). */
  lambda(steering: Steering): number {
    const kl = steering.kl ?? this.alignedKl;
    if (!Number.isFinite(kl) || kl <= 0) throw new WeightError(`kl ${kl} is invalid; give a KL coefficient > 0`);
    return this.alignedKl / kl;
  }

  validateSteering(steering: Steering): void {
    this.aligned.validateSteering({ weights: steering.weights });
    this.lambda(steering);
  }

  /** Builds the aligned policy's prompt at its own α. π_ref reads the same prompt. */
  prompt(description: string, steering: Steering): number[] {
    return this.aligned.prompt(description, { weights: steering.weights });
  }

  decoder(steering: Steering): Decoder {
    const lambda = this.lambda(steering);
    const inner = this.aligned.decoder({ weights: steering.weights });
    if (inner.mix !== null) {
      inner.dispose();
      throw new WeightError("DeRa needs an aligned policy that decodes as one model; logit-mixing policies cannot be realigned this way");
    }
    return {
      model: new LogitMixture([this.reference, inner.model]),
      mix: [1 - lambda, lambda],
      dispose: () => inner.dispose(),
    };
  }

  parameterCount(): number {
    return this.aligned.parameterCount() + this.reference.parameterCount();
  }

  /** Frees the aligned policy and π_ref: the DeRa policy owns both. */
  dispose(): void {
    this.aligned.dispose();
    this.reference.dispose();
  }
}
