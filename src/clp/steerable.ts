/**
 * The interface every steerable policy implements, CLP variants and baselines alike, so training
 * reports, evaluation, generation and serving treat them the same way.
 */
import type { CausalLM } from "../model/gpt.js";
import { generate, type Generation, type SamplingOptions } from "../model/generate.js";
import { completionLogProbs, packBatch } from "../rl/sequences.js";
import { decodeSummary } from "../task/summarize.js";
import { noGrad, tensor, tidy } from "../torch/index.js";
import type { Tokenizer } from "../tokenizer/bpe.js";

/** Steering input: the objective weights w and, for KL-steerable policies, the KL strength α. */
export interface Steering {
  weights: readonly number[];
  /** KL coefficient α; policies that are not KL-steerable accept only their training value. */
  kl?: number | null;
}

/** A model fixed at one steering input, ready to decode. */
export interface Decoder {
  model: CausalLM;
  /** Mixing weights to pass with every forward (one row per example), or null. */
  mix: readonly number[] | null;
  /** Frees what the decoder created (merged weights), never the policy's own tensors. */
  dispose(): void;
}

/** Kinds of steerable policies clp can load. */
export const POLICY_KINDS = ["clp", "rewarded-soups", "logit-mixing", "per-weight", "dera"] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** A policy π(y | x, w) over the default task. */
export interface SteerablePolicy {
  readonly kind: PolicyKind;
  readonly objectives: readonly string[];
  readonly tokenizer: Tokenizer;
  /** Checks a steering input, throwing an error that names the value and the fix. */
  validateSteering(steering: Steering): void;
  /** Prompt ids for a description under a steering input. */
  prompt(description: string, steering: Steering): number[];
  /** A decoder at one steering input; merged weights are computed once here. */
  decoder(steering: Steering): Decoder;
  /** Scalar parameters stored, counting every copy or expert. */
  parameterCount(): number;
  dispose(): void;
}

/** Sampling settings besides the token ids the tokenizer supplies. */
export type SummarizeOptions = Omit<SamplingOptions, "eosId" | "padId" | "seeds"> & { seed: number };

/**
 * log π(y | x, w) of each completion (token ids, ending with end of text when finished) given its
 * description, summed over tokens, at one steering input and sampling temperature.
 */
export function completionLogProb(
  policy: SteerablePolicy,
  descriptions: readonly string[],
  completions: readonly number[][],
  steering: Steering,
  temperature = 1,
): number[] {
  policy.validateSteering(steering);
  if (descriptions.length !== completions.length) {
    throw new RangeError(`completionLogProb: ${descriptions.length} descriptions but ${completions.length} completions`);
  }
  const decoder = policy.decoder(steering);
  try {
    return tidy(() =>
      noGrad(() => {
        const prompts = descriptions.map((d) => policy.prompt(d, steering));
        const packed = packBatch(prompts, completions, policy.tokenizer.padId);
        const mix = decoder.mix === null ? null : tensor(descriptions.map(() => [...decoder.mix!]));
        return completionLogProbs(decoder.model, packed, mix, { temperature }).sum(1).toArray();
      }),
    );
  } finally {
    decoder.dispose();
  }
}

/** Summarises each description under one steering input; row i draws from seed + i. */
export function summarize(
  policy: SteerablePolicy,
  descriptions: readonly string[],
  steering: Steering,
  sampling: SummarizeOptions,
): { texts: string[]; generation: Generation } {
  policy.validateSteering(steering);
  const decoder = policy.decoder(steering);
  try {
    const { tokenizer } = policy;
    const mix = decoder.mix === null ? null : descriptions.map(() => [...decoder.mix!]);
    const generation = generate(decoder.model, descriptions.map((d) => policy.prompt(d, steering)), mix, {
      ...sampling,
      eosId: tokenizer.eosId,
      padId: tokenizer.padId,
      seeds: descriptions.map((_, i) => sampling.seed + i),
    });
    return { texts: generation.tokens.map((t) => decodeSummary(tokenizer, t)), generation };
  } finally {
    decoder.dispose();
  }
}
