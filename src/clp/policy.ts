/**
 * A CLP policy π(y | x, w): a GPT whose conditioned parameters hold one delta per objective,
 * optionally with w (and the KL strength α) written into the prompt, plus the metadata needed to
 * use it and to check that a checkpoint matches a config.
 */
import * as torch from "../torch/index.js";
import { loadModelFolder, saveModelFolder } from "../model/checkpoint.js";
import type { Gpt } from "../model/gpt.js";
import type { RewardNormalizerJSON } from "../rewards/index.js";
import { promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { conditionedParameters, CONDITIONING_VARIANTS, type ConditioningVariant, type LoraSettings } from "./conditioning.js";
import { formatSteeringText, PROMPT_FORMAT } from "./prompt-format.js";
import type { Decoder, Steering, SteerablePolicy } from "./steerable.js";
import { validateWeights, WeightError } from "./weights.js";

/** Metadata a CLP checkpoint records besides the weights. */
export interface PolicyMetadata {
  kind: "clp-policy";
  objectives: string[];
  variant: ConditioningVariant;
  /** Rank, alpha and target layers of the lora variant; null for the others. */
  lora: LoraSettings | null;
  /** PROMPT_FORMAT when w or α is written into the prompt, else null. */
  promptFormat: string | null;
  /** True when the prompt carries w. */
  promptWeights: boolean;
  /** The log-uniform range α was drawn from during training, or null when α was fixed. */
  klRange: [number, number] | null;
  /** α of the training objective; the default α at inference. */
  klCoef: number;
  /**
   * The one weight vector a single-weight policy (an expert or a per-weight model) was trained at;
   * null for policies steered by w.
   */
  fixedWeights: number[] | null;
  maxSourceTokens: number;
  normalizer: RewardNormalizerJSON;
  /** RL steps taken. */
  step: number;
  /** Folder of π_ref the policy was trained against. */
  reference: string;
  /** Seed of the low-rank initialisation. */
  seed: number;
}

/** Thrown when a checkpoint does not match what the caller expects. */
export class PolicyMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyMismatchError";
  }
}

/** Requirements a config puts on a loaded checkpoint. */
export interface PolicyExpectation {
  objectives?: readonly string[];
  variant?: string;
  promptFormat?: string | null;
  numCopies?: number;
  maxSourceTokens?: number;
}

/** A conditioned GPT with its tokenizer and metadata. */
export class ClpPolicy implements SteerablePolicy {
  readonly kind = "clp" as const;

  constructor(
    readonly model: Gpt,
    readonly tokenizer: Tokenizer,
    readonly metadata: PolicyMetadata,
  ) {}

  /**
   * A new policy whose copies all start at π_ref: dense deltas are zero and low-rank deltas have
   * B = 0, so the policy equals π_ref exactly until the first update.
   */
  static fromReference(reference: Gpt, tokenizer: Tokenizer, metadata: Omit<PolicyMetadata, "kind" | "step">): ClpPolicy {
    const specs = conditionedParameters(reference.config, metadata.variant, metadata.lora ?? undefined);
    const copies = metadata.fixedWeights !== null ? 1 : metadata.objectives.length;
    const model = reference.withDeltas(specs, copies, metadata.seed);
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
   * Loads a policy folder. With `expect`, the recorded objectives, variant, prompt format and
   * number of copies must match, and the error names the field, the file and both values.
   */
  static load(dir: string, expect: PolicyExpectation = {}): ClpPolicy {
    const { model, tokenizer, config } = loadModelFolder(dir);
    const meta = config.metadata.clp as PolicyMetadata | undefined;
    const fail = (message: string): never => {
      model.dispose();
      throw new PolicyMismatchError(message);
    };
    if (meta === undefined || meta.kind !== "clp-policy") {
      return fail(`${dir}/config.json has no "metadata.clp" section; it is not a CLP policy checkpoint (a plain model folder such as π_ref cannot be steered)`);
    }
    if (!Array.isArray(meta.objectives) || meta.objectives.length < 1) {
      return fail(`${dir}/config.json: "metadata.clp.objectives" must list the objectives`);
    }
    if (!(CONDITIONING_VARIANTS as readonly string[]).includes(meta.variant)) {
      return fail(`${dir}/config.json: "metadata.clp.variant" is ${JSON.stringify(meta.variant)}; known variants: ${CONDITIONING_VARIANTS.join(", ")}`);
    }
    if (!Number.isInteger(meta.maxSourceTokens) || meta.maxSourceTokens < 1) {
      return fail(`${dir}/config.json: "metadata.clp.maxSourceTokens" is ${JSON.stringify(meta.maxSourceTokens)}; it must be a positive integer`);
    }
    if (meta.klRange !== null && !(Array.isArray(meta.klRange) && meta.klRange.length === 2 && meta.klRange[0] > 0 && meta.klRange[1] > meta.klRange[0])) {
      return fail(`${dir}/config.json: "metadata.clp.klRange" is ${JSON.stringify(meta.klRange)}; it must be null or [min, max] with 0 < min < max`);
    }
    // The stored deltas must be exactly the ones the recorded variant creates.
    const expectedDeltas = conditionedParameters(model.config, meta.variant, meta.lora ?? undefined);
    const actual = JSON.stringify([...model.deltas].sort(([a], [b]) => a.localeCompare(b)));
    const wanted = JSON.stringify([...expectedDeltas].sort(([a], [b]) => a.localeCompare(b)));
    if (actual !== wanted) {
      return fail(`${dir}: the weights' conditioned parameters do not match variant "${meta.variant}" recorded in config.json; the metadata was edited or belongs to another checkpoint`);
    }
    const copies = meta.fixedWeights ? 1 : meta.objectives.length;
    if (model.numCopies !== 0 && model.numCopies !== copies) {
      return fail(`${dir}: the weights hold ${model.numCopies} copies but "metadata.clp" describes ${copies} (${meta.fixedWeights ? "a single-weight policy" : `objectives ${meta.objectives}`})`);
    }
    if (meta.promptFormat !== null && meta.promptFormat !== PROMPT_FORMAT) {
      return fail(`${dir}: prompt format "${meta.promptFormat}" is not supported by this clp; it writes "${PROMPT_FORMAT}"`);
    }
    if (expect.objectives && expect.objectives.join(",") !== meta.objectives.join(",")) {
      return fail(`${dir}: the checkpoint was trained on objectives [${meta.objectives}] but the config asks for [${expect.objectives}]`);
    }
    if (expect.variant && expect.variant !== meta.variant) {
      return fail(`${dir}: the checkpoint uses conditioning "${meta.variant}" but the config asks for "${expect.variant}"`);
    }
    if (expect.promptFormat !== undefined && expect.promptFormat !== meta.promptFormat) {
      return fail(`${dir}: the checkpoint's prompt format is ${JSON.stringify(meta.promptFormat)} but the config asks for ${JSON.stringify(expect.promptFormat)}`);
    }
    if (expect.maxSourceTokens !== undefined && expect.maxSourceTokens !== meta.maxSourceTokens) {
      return fail(`${dir}: the checkpoint cuts descriptions to ${meta.maxSourceTokens} tokens but the config asks for ${expect.maxSourceTokens} (data.maxSourceTokens)`);
    }
    if (expect.numCopies !== undefined && expect.numCopies !== model.numCopies) {
      return fail(`${dir}: the checkpoint holds ${model.numCopies} copies but the config needs ${expect.numCopies}`);
    }
    return new ClpPolicy(model, tokenizer, meta);
  }

  /** Returns the α a steering input requests, after checking it against the training range. */
  klOf(steering: Steering): number {
    const kl = steering.kl ?? null;
    const range = this.metadata.klRange;
    if (kl === null) return this.metadata.klCoef;
    if (!Number.isFinite(kl) || kl <= 0) throw new WeightError(`kl ${kl} is invalid; give a KL coefficient > 0`);
    if (range === null) {
      if (Math.abs(kl - this.metadata.klCoef) > 1e-12) {
        throw new WeightError(
          `this policy was trained at the single KL coefficient ${this.metadata.klCoef} and cannot be steered to kl ${kl}; train with conditioning.klRange, or realign it with DeRa (method "dera" with baseline.alignedFrom naming this run)`,
        );
      }
      return kl;
    }
    if (kl < range[0] || kl > range[1]) {
      throw new WeightError(`kl ${kl} is outside the range [${range[0]}, ${range[1]}] the policy was trained on; pick a value inside it`);
    }
    return kl;
  }

  validateSteering(steering: Steering): void {
    validateWeights(steering.weights, this.objectives);
    this.klOf(steering);
  }

  /** Returns the steering lines written into the prompt (empty without prompt conditioning). */
  steeringText(steering: Steering): string {
    if (this.metadata.promptFormat === null) return "";
    return formatSteeringText({
      weights: this.metadata.promptWeights ? steering.weights : null,
      kl: this.metadata.klRange !== null ? this.klOf(steering) : null,
    });
  }

  /** Prompt ids for a description, cut as during training, with the steering text. */
  prompt(description: string, steering: Steering): number[] {
    return promptIds(this.tokenizer, description, this.metadata.maxSourceTokens, this.steeringText(steering));
  }

  /** Returns the model's mixing weights for w: w itself, [1] for a single-weight policy, null when plain. */
  mixRow(weights: readonly number[]): number[] | null {
    if (this.model.numCopies === 0) return null;
    if (this.metadata.fixedWeights !== null) return [1];
    return [...weights];
  }

  /** Validates every row's weights and returns the model's mixing tensor [B, copies], or null. */
  mixTensor(weights: readonly (readonly number[])[]): torch.Tensor | null {
    for (const w of weights) validateWeights(w, this.objectives);
    if (this.model.numCopies === 0) return null;
    return torch.tensor(weights.map((w) => this.mixRow(w)!));
  }

  /** Merges the copies once at w, so decoding costs the same as the base model. */
  decoder(steering: Steering): Decoder {
    const merged = this.model.merge(this.mixRow(steering.weights) ?? []);
    return { model: merged, mix: null, dispose: () => merged.disposeMerged(this.model) };
  }

  parameterCount(): number {
    return this.model.parameterCount();
  }

  dispose(): void {
    this.model.dispose();
  }
}
