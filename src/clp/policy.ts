/**
 * A steerable policy π(y | x, w): a GPT whose conditioned parameters hold one copy per objective,
 * with the metadata needed to use it (objective names, variant, reward normalisation) and to
 * check that a checkpoint matches a config.
 */
import * as torch from "../torch/index.js";
import { loadModelFolder, saveModelFolder } from "../model/checkpoint.js";
import { generate, type Generation, type SamplingOptions } from "../model/generate.js";
import type { Gpt } from "../model/gpt.js";
import type { RewardNormalizerJSON } from "../rewards/index.js";
import { decodeSummary, promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { conditionedParameters, type ConditioningVariant } from "./conditioning.js";
import { validateWeights } from "./weights.js";

/** Metadata a CLP checkpoint records besides the weights. */
export interface PolicyMetadata {
  kind: "clp-policy";
  objectives: string[];
  variant: ConditioningVariant;
  /** Format that writes w into the prompt, or null when w stays out of the prompt. */
  promptFormat: null;
  maxSourceTokens: number;
  normalizer: RewardNormalizerJSON;
  /** RL steps taken. */
  step: number;
  /** Folder of π_ref the policy was trained against. */
  reference: string;
}

/** Thrown when a checkpoint does not match what the caller expects. */
export class PolicyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyMismatchError";
  }
}

/** A conditioned GPT with its tokenizer and metadata. */
export class ClpPolicy {
  constructor(
    readonly model: Gpt,
    readonly tokenizer: Tokenizer,
    readonly metadata: PolicyMetadata,
  ) {}

  /** A new policy whose m copies all start at π_ref's values. */
  static fromReference(reference: Gpt, tokenizer: Tokenizer, metadata: Omit<PolicyMetadata, "kind" | "step">): ClpPolicy {
    const names = conditionedParameters(reference.config, metadata.variant);
    const model = reference.withConditioned(names, metadata.objectives.length);
    return new ClpPolicy(model, tokenizer, { kind: "clp-policy", step: 0, ...metadata });
  }

  get objectives(): string[] {
    return this.metadata.objectives;
  }

  /** Saves weights, tokenizer and metadata (atomically replacing `dir`). */
  save(dir: string, extra: Record<string, unknown> = {}): void {
    saveModelFolder(dir, this.model, this.tokenizer, { ...extra, clp: this.metadata });
  }

  /**
   * Loads a policy folder. With `expect`, the recorded objectives and variant must match, and the
   * error names the field, the file and both values.
   */
  static load(dir: string, expect?: { objectives?: readonly string[]; variant?: string }): ClpPolicy {
    const { model, tokenizer, config } = loadModelFolder(dir);
    const meta = config.metadata.clp as PolicyMetadata | undefined;
    const fail = (message: string): never => {
      model.dispose();
      throw new PolicyMismatchError(message);
    };
    if (meta === undefined || meta.kind !== "clp-policy") {
      return fail(`${dir}/config.json has no "metadata.clp" section; it is not a CLP policy checkpoint (a plain model folder such as π_ref cannot be steered)`);
    }
    if (!Array.isArray(meta.objectives) || meta.objectives.length !== model.numCopies) {
      return fail(`${dir}/config.json: "metadata.clp.objectives" lists ${meta.objectives?.length} objectives but the weights hold ${model.numCopies} copies`);
    }
    if (expect?.objectives && expect.objectives.join(",") !== meta.objectives.join(",")) {
      return fail(`${dir}: the checkpoint was trained on objectives [${meta.objectives}] but the config asks for [${expect.objectives}]`);
    }
    if (expect?.variant && expect.variant !== meta.variant) {
      return fail(`${dir}: the checkpoint uses conditioning "${meta.variant}" but the config asks for "${expect.variant}"`);
    }
    return new ClpPolicy(model, tokenizer, meta);
  }

  /** Prompt ids for a description, cut as during training. */
  prompt(description: string): number[] {
    return promptIds(this.tokenizer, description, this.metadata.maxSourceTokens);
  }

  /**
   * Summarises each description under one weight vector: merges the copies once, so decoding costs
   * the same as the base model.
   */
  summarize(descriptions: readonly string[], weights: readonly number[], sampling: Omit<SamplingOptions, "eosId" | "padId" | "seeds"> & { seed: number }): { texts: string[]; generation: Generation } {
    validateWeights(weights, this.objectives);
    const merged = this.model.merge(weights);
    try {
      const generation = generate(merged, descriptions.map((d) => this.prompt(d)), null, {
        ...sampling,
        eosId: this.tokenizer.eosId,
        padId: this.tokenizer.padId,
        seeds: descriptions.map((_, i) => sampling.seed + i),
      });
      return { texts: generation.tokens.map((t) => decodeSummary(this.tokenizer, t)), generation };
    } finally {
      merged.disposeMerged(this.model);
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Validates every row of per-example weights and returns them as a [B, m] tensor. */
export function mixTensor(weights: readonly (readonly number[])[], objectives: readonly string[]): torch.Tensor {
  for (const w of weights) validateWeights(w, objectives);
  return torch.tensor(weights.map((w) => [...w]));
}
