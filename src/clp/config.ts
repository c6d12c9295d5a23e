/**
 * The training config of a CLP run (JSON), with defaults and validation. Every error names the
 * config file, the field and what to write instead.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { resolveRewardModulePath } from "../rewards/index.js";
import { CONDITIONING_VARIANTS, LORA_TARGETS, type ConditioningVariant, type LoraTarget } from "./conditioning.js";
import { POLICY_KINDS, type PolicyKind } from "./steerable.js";

/** Policies of `rl.onRewardError` for a reward failure on one sample. */
export const ON_REWARD_ERROR = ["stop", "skip"] as const;
export type OnRewardError = (typeof ON_REWARD_ERROR)[number];

/** A CLP training run. */
export interface ClpConfig {
  /** Model folder of the reference policy π_ref (and the initial policy). */
  reference: string;
  /** Reward function names, one per objective; m = objectives.length. */
  objectives: string[];
  /** JavaScript modules whose reward functions are registered before the objectives are looked up. */
  rewardModules: string[];
  /** Method to train: a CLP policy or one of the baselines. */
  method: PolicyKind;
  conditioning: {
    variant: ConditioningVariant;
    /** Writes w into the prompt (format "clp-steer/1"). */
    prompt: boolean;
    /** Rank r of each low-rank delta (lora variant). */
    loraRank: number;
    /** Low-rank deltas are scaled by loraAlpha / loraRank. */
    loraAlpha: number;
    /** Linear layers that get low-rank deltas (lora variant). */
    loraTargets: LoraTarget[];
    /**
     * [min, max] of the KL coefficient α drawn log-uniformly per prompt; α is then written into the
     * prompt and chosen at inference. null trains at the single α of rl.klCoef.
     */
    klRange: [number, number] | null;
  };
  baseline: {
    /** rewarded-soups and logit-mixing: reuse the experts of this earlier run folder. */
    expertsFrom: string;
    /** dera: run folder of the aligned policy whose logits are mixed with π_ref's. */
    alignedFrom: string;
    /** per-weight: lattice resolution of the weights that each get their own policy. */
    divisions: number;
  };
  data: {
    /** Descriptions are cut to this many tokens before "\nTL;DR:". */
    maxSourceTokens: number;
    /** Uses only the first N training examples (0: all). */
    trainLimit: number;
  };
  calibration: {
    /** Training prompts sampled under π_ref to measure each reward's mean and std. */
    prompts: number;
    samplesPerPrompt: number;
  };
  rl: {
    steps: number;
    /** Prompts per step; each gets its own w ~ Dirichlet(dirichletAlpha). */
    promptsPerStep: number;
    /** Samples per (prompt, w), k ≥ 2 for the leave-one-out baseline. */
    samplesPerPrompt: number;
    /** α in E[wᵀR] − α·KL(π‖π_ref), per sequence, in units of normalised reward. */
    klCoef: number;
    lr: number;
    weightDecay: number;
    gradClip: number;
    dirichletAlpha: number;
    maxNewTokens: number;
    temperature: number;
    /** Saves a resumable checkpoint every N steps (and at the end). */
    checkpointEvery: number;
    /** Resumable checkpoints kept per policy; older ones are deleted after a newer one is saved. */
    keepCheckpoints: number;
    /**
     * Response to a reward failure on one sample. "stop" saves a checkpoint and raises the
     * RewardError. "skip" marks the sample unscorable (advantage 0, left out of baselines and
     * reward means) and goes on.
     */
    onRewardError: OnRewardError;
    /**
     * Seconds one call into a reward may take before it counts as a failure of that reward on
     * that sample (handled by onRewardError). Rewards then run in a worker thread; 0 scores them
     * on the main thread with no limit.
     */
    rewardTimeoutSeconds: number;
    /**
     * Consecutive steps with a non-finite loss or gradient norm (each skipped without an update)
     * after which training saves a checkpoint and stops.
     */
    maxSkippedUpdates: number;
  };
  eval: {
    /** Lattice resolution: weights k/divisions (10 gives 11 points for m = 2). */
    divisions: number;
    /** Test prompts per weight (0: the whole test split). */
    prompts: number;
    samplesPerPrompt: number;
    maxNewTokens: number;
    temperature: number;
    seed: number;
  };
  seed: number;
}

/** Thrown for an invalid training config. */
export class ClpConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClpConfigError";
  }
}

/** Defaults for every optional field. */
export const DEFAULT_CONFIG: Omit<ClpConfig, "objectives"> & { objectives: string[] } = {
  reference: "models/ref",
  objectives: ["coverage", "brevity"],
  rewardModules: [],
  method: "clp",
  conditioning: {
    variant: "attn",
    prompt: false,
    loraRank: 4,
    loraAlpha: 8,
    loraTargets: ["q_proj", "k_proj", "v_proj", "o_proj"],
    klRange: null,
  },
  baseline: { expertsFrom: "", alignedFrom: "", divisions: 2 },
  data: { maxSourceTokens: 96, trainLimit: 0 },
  calibration: { prompts: 64, samplesPerPrompt: 2 },
  rl: {
    steps: 150,
    promptsPerStep: 8,
    samplesPerPrompt: 4,
    klCoef: 0.05,
    lr: 1e-4,
    weightDecay: 0,
    gradClip: 1,
    dirichletAlpha: 1,
    maxNewTokens: 20,
    temperature: 1,
    checkpointEvery: 50,
    keepCheckpoints: 2,
    onRewardError: "stop",
    rewardTimeoutSeconds: 60,
    maxSkippedUpdates: 3,
  },
  eval: { divisions: 10, prompts: 400, samplesPerPrompt: 1, maxNewTokens: 20, temperature: 1, seed: 1234 },
  seed: 1,
};

type Section = Record<string, unknown>;

function mergeSection<T extends Section>(source: string, name: string, defaults: T, given: unknown): T {
  if (given === undefined) return { ...defaults };
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new ClpConfigError(`${source}: field "${name}" must be an object`);
  }
  const out: Section = { ...defaults };
  for (const [key, value] of Object.entries(given as Section)) {
    if (!(key in defaults)) {
      throw new ClpConfigError(`${source}: unknown field "${name}.${key}"; known fields: ${Object.keys(defaults).join(", ")}`);
    }
    const expected = typeof defaults[key];
    // A field whose default is null or a list takes a list (or null); the caller checks its entries.
    const listField = defaults[key] === null || Array.isArray(defaults[key]);
    if (listField ? !(value === null || Array.isArray(value)) : typeof value !== expected) {
      const kind = listField ? "list (or null)" : expected;
      throw new ClpConfigError(`${source}: field "${name}.${key}" must be a ${kind}, got ${JSON.stringify(value)}`);
    }
    out[key] = value;
  }
  return out as T;
}

function requireNumber(source: string, field: string, value: number, check: (v: number) => boolean, rule: string): void {
  if (!Number.isFinite(value) || !check(value)) {
    throw new ClpConfigError(`${source}: field "${field}" is ${value}; it must be ${rule}`);
  }
}

/** Validates a parsed config object against the defaults; `source` names it in errors. */
export function resolveConfig(raw: unknown, source: string): ClpConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ClpConfigError(`${source}: the config must be a JSON object`);
  }
  const r = raw as Section;
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  for (const key of Object.keys(r)) {
    if (!known.has(key)) throw new ClpConfigError(`${source}: unknown field "${key}"; known fields: ${[...known].join(", ")}`);
  }
  const objectives = r.objectives === undefined ? DEFAULT_CONFIG.objectives : r.objectives;
  if (!Array.isArray(objectives) || objectives.length < 1 || objectives.some((o) => typeof o !== "string" || o === "")) {
    throw new ClpConfigError(`${source}: field "objectives" must be a non-empty list of reward names, e.g. ["coverage", "brevity"]`);
  }
  if (objectives.length < 2) {
    throw new ClpConfigError(`${source}: field "objectives" lists one reward (${JSON.stringify(objectives)}); steering needs at least two, e.g. ["coverage", "brevity"]`);
  }
  if (new Set(objectives).size !== objectives.length) {
    throw new ClpConfigError(`${source}: field "objectives" lists a reward twice: ${JSON.stringify(objectives)}`);
  }
  const reference = r.reference === undefined ? DEFAULT_CONFIG.reference : r.reference;
  if (typeof reference !== "string") throw new ClpConfigError(`${source}: field "reference" must be a model folder path`);
  const rewardModules = r.rewardModules === undefined ? DEFAULT_CONFIG.rewardModules : r.rewardModules;
  if (!Array.isArray(rewardModules) || rewardModules.some((m) => typeof m !== "string" || m === "")) {
    throw new ClpConfigError(`${source}: field "rewardModules" must be a list of module paths, e.g. ["rewards/my-reward.js"]`);
  }
  const method = r.method === undefined ? DEFAULT_CONFIG.method : r.method;
  if (typeof method !== "string" || !(POLICY_KINDS as readonly string[]).includes(method)) {
    throw new ClpConfigError(`${source}: field "method" is ${JSON.stringify(method)}; available: ${POLICY_KINDS.join(", ")}`);
  }
  const seed = r.seed === undefined ? DEFAULT_CONFIG.seed : r.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new ClpConfigError(`${source}: field "seed" must be an integer`);

  const config: ClpConfig = {
    reference,
    objectives: objectives as string[],
    rewardModules: rewardModules as string[],
    method: method as PolicyKind,
    conditioning: mergeSection(source, "conditioning", DEFAULT_CONFIG.conditioning, r.conditioning),
    baseline: mergeSection(source, "baseline", DEFAULT_CONFIG.baseline, r.baseline),
    data: mergeSection(source, "data", DEFAULT_CONFIG.data, r.data),
    calibration: mergeSection(source, "calibration", DEFAULT_CONFIG.calibration, r.calibration),
    rl: mergeSection(source, "rl", DEFAULT_CONFIG.rl, r.rl),
    eval: mergeSection(source, "eval", DEFAULT_CONFIG.eval, r.eval),
    seed,
  };
  if (!(CONDITIONING_VARIANTS as readonly string[]).includes(config.conditioning.variant)) {
    throw new ClpConfigError(
      `${source}: field "conditioning.variant" is "${config.conditioning.variant}"; available: ${CONDITIONING_VARIANTS.join(", ")}`,
    );
  }
  validateConditioning(source, config);
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  const nonNegativeInt = (v: number) => Number.isInteger(v) && v >= 0;
  requireNumber(source, "data.maxSourceTokens", config.data.maxSourceTokens, positiveInt, "a positive integer");
  requireNumber(source, "data.trainLimit", config.data.trainLimit, nonNegativeInt, "a non-negative integer");
  requireNumber(source, "calibration.prompts", config.calibration.prompts, (v) => Number.isInteger(v) && v >= 2, "an integer ≥ 2");
  requireNumber(source, "calibration.samplesPerPrompt", config.calibration.samplesPerPrompt, positiveInt, "a positive integer");
  requireNumber(source, "rl.steps", config.rl.steps, nonNegativeInt, "a non-negative integer");
  requireNumber(source, "rl.promptsPerStep", config.rl.promptsPerStep, positiveInt, "a positive integer");
  requireNumber(source, "rl.samplesPerPrompt", config.rl.samplesPerPrompt, (v) => Number.isInteger(v) && v >= 2,
    "an integer ≥ 2, because the leave-one-out baseline needs another sample of the same prompt");
  requireNumber(source, "rl.klCoef", config.rl.klCoef, (v) => v >= 0, "≥ 0");
  requireNumber(source, "rl.lr", config.rl.lr, (v) => v > 0, "> 0");
  requireNumber(source, "rl.weightDecay", config.rl.weightDecay, (v) => v >= 0, "≥ 0");
  requireNumber(source, "rl.gradClip", config.rl.gradClip, (v) => v > 0, "> 0");
  requireNumber(source, "rl.dirichletAlpha", config.rl.dirichletAlpha, (v) => v > 0, "> 0");
  requireNumber(source, "rl.maxNewTokens", config.rl.maxNewTokens, positiveInt, "a positive integer");
  requireNumber(source, "rl.temperature", config.rl.temperature, (v) => v > 0, "> 0");
  requireNumber(source, "rl.checkpointEvery", config.rl.checkpointEvery, positiveInt, "a positive integer");
  requireNumber(source, "rl.keepCheckpoints", config.rl.keepCheckpoints, positiveInt, "a positive integer");
  if (!(ON_REWARD_ERROR as readonly string[]).includes(config.rl.onRewardError)) {
    throw new ClpConfigError(`${source}: field "rl.onRewardError" is ${JSON.stringify(config.rl.onRewardError)}; available: ${ON_REWARD_ERROR.join(", ")}`);
  }
  requireNumber(source, "rl.rewardTimeoutSeconds", config.rl.rewardTimeoutSeconds, (x) => x >= 0, "a number of seconds ≥ 0 (0: no limit)");
  requireNumber(source, "rl.maxSkippedUpdates", config.rl.maxSkippedUpdates, positiveInt, "a positive integer");
  requireNumber(source, "eval.divisions", config.eval.divisions, positiveInt, "a positive integer");
  requireNumber(source, "eval.prompts", config.eval.prompts, nonNegativeInt, "a non-negative integer");
  requireNumber(source, "eval.samplesPerPrompt", config.eval.samplesPerPrompt, positiveInt, "a positive integer");
  requireNumber(source, "eval.maxNewTokens", config.eval.maxNewTokens, positiveInt, "a positive integer");
  requireNumber(source, "eval.temperature", config.eval.temperature, (v) => v > 0, "> 0");
  requireNumber(source, "eval.seed", config.eval.seed, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer");
  return config;
}

function validateConditioning(source: string, config: ClpConfig): void {
  const c = config.conditioning;
  requireNumber(source, "conditioning.loraRank", c.loraRank, (v) => Number.isInteger(v) && v >= 1, "a positive integer");
  requireNumber(source, "conditioning.loraAlpha", c.loraAlpha, (v) => v > 0, "> 0");
  if (c.loraTargets === null || c.loraTargets.length === 0 || new Set(c.loraTargets).size !== c.loraTargets.length || c.loraTargets.some((t) => !(LORA_TARGETS as readonly string[]).includes(t))) {
    throw new ClpConfigError(`${source}: field "conditioning.loraTargets" is ${JSON.stringify(c.loraTargets)}; list one or more of ${LORA_TARGETS.join(", ")}, each once`);
  }
  if (c.klRange !== null) {
    const [low, high] = c.klRange;
    const valid = c.klRange.length === 2 && typeof low === "number" && typeof high === "number" && low > 0 && high > low && Number.isFinite(high);
    if (!valid) {
      throw new ClpConfigError(`${source}: field "conditioning.klRange" is ${JSON.stringify(c.klRange)}; give [min, max] with 0 < min < max, e.g. [0.02, 0.2], or null`);
    }
    if (!(config.rl.klCoef >= low! && config.rl.klCoef <= high!)) {
      throw new ClpConfigError(`${source}: field "rl.klCoef" (${config.rl.klCoef}) is the default α at inference and must lie inside conditioning.klRange ${JSON.stringify(c.klRange)}`);
    }
  }
  if (config.method === "clp" && c.variant === "none" && !c.prompt) {
    throw new ClpConfigError(`${source}: conditioning.variant "none" with conditioning.prompt false leaves the policy blind to w; set "prompt": true (the prompting baseline) or pick a variant`);
  }
  const experts = config.method === "rewarded-soups" || config.method === "logit-mixing" || config.method === "per-weight";
  if (experts && (c.prompt || c.klRange !== null)) {
    throw new ClpConfigError(`${source}: method "${config.method}" trains single-weight policies; remove conditioning.prompt and conditioning.klRange`);
  }
  if (experts && c.variant !== "none" && c.variant !== "lora" && c.variant !== "full") {
    throw new ClpConfigError(`${source}: method "${config.method}" trains single-weight policies with every parameter ("full") or with one low-rank delta ("lora"); conditioning.variant is "${c.variant}"`);
  }
  if (config.method === "dera" && config.baseline.alignedFrom === "") {
    throw new ClpConfigError(`${source}: method "dera" needs field "baseline.alignedFrom", the run folder of the aligned policy`);
  }
  requireNumber(source, "baseline.divisions", config.baseline.divisions, (v) => Number.isInteger(v) && v >= 1, "a positive integer");
}

/**
 * Reads and validates a config file. Reward module paths are resolved against the config file's
 * folder, then the working directory, and stored as absolute paths, so the copy a run saves
 * still finds them.
 */
export function loadConfig(path: string): ClpConfig {
  if (!existsSync(path)) throw new ClpConfigError(`config file ${path} not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ClpConfigError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const config = resolveConfig(raw, path);
  config.rewardModules = config.rewardModules.map((module) => resolveRewardModulePath(module, dirname(path)));
  return config;
}
