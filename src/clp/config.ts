/**
 * The training config of a CLP run (JSON), with defaults and validation. Every error names the
 * config file, the field and what to write instead.
 */
import { existsSync, readFileSync } from "node:fs";
import { CONDITIONING_VARIANTS, type ConditioningVariant } from "./conditioning.js";

/** A CLP training run. */
export interface ClpConfig {
  /** Model folder of the reference policy π_ref (and the initial policy). */
  reference: string;
  /** Reward function names, one per objective; m = objectives.length. */
  objectives: string[];
  conditioning: { variant: ConditioningVariant };
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
    /** Saves a checkpoint every N steps (and at the end). */
    checkpointEvery: number;
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
  conditioning: { variant: "attn" },
  data: { maxSourceTokens: 128, trainLimit: 0 },
  calibration: { prompts: 64, samplesPerPrompt: 2 },
  rl: {
    steps: 200,
    promptsPerStep: 8,
    samplesPerPrompt: 4,
    klCoef: 0.05,
    lr: 2e-4,
    weightDecay: 0,
    gradClip: 1,
    dirichletAlpha: 1,
    maxNewTokens: 24,
    temperature: 1,
    checkpointEvery: 50,
  },
  eval: { divisions: 10, prompts: 200, samplesPerPrompt: 1, maxNewTokens: 24, temperature: 1, seed: 1234 },
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
    if (typeof value !== expected) {
      throw new ClpConfigError(`${source}: field "${name}.${key}" must be a ${expected}, got ${JSON.stringify(value)}`);
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
  const objectives = r.objectives ?? DEFAULT_CONFIG.objectives;
  if (!Array.isArray(objectives) || objectives.length < 1 || objectives.some((o) => typeof o !== "string" || o === "")) {
    throw new ClpConfigError(`${source}: field "objectives" must be a non-empty list of reward names, e.g. ["coverage", "brevity"]`);
  }
  if (new Set(objectives).size !== objectives.length) {
    throw new ClpConfigError(`${source}: field "objectives" lists a reward twice: ${JSON.stringify(objectives)}`);
  }
  const reference = r.reference ?? DEFAULT_CONFIG.reference;
  if (typeof reference !== "string") throw new ClpConfigError(`${source}: field "reference" must be a model folder path`);
  const seed = r.seed ?? DEFAULT_CONFIG.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new ClpConfigError(`${source}: field "seed" must be an integer`);

  const config: ClpConfig = {
    reference,
    objectives: objectives as string[],
    conditioning: mergeSection(source, "conditioning", DEFAULT_CONFIG.conditioning, r.conditioning),
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
  requireNumber(source, "eval.divisions", config.eval.divisions, positiveInt, "a positive integer");
  requireNumber(source, "eval.prompts", config.eval.prompts, nonNegativeInt, "a non-negative integer");
  requireNumber(source, "eval.samplesPerPrompt", config.eval.samplesPerPrompt, positiveInt, "a positive integer");
  requireNumber(source, "eval.maxNewTokens", config.eval.maxNewTokens, positiveInt, "a positive integer");
  requireNumber(source, "eval.temperature", config.eval.temperature, (v) => v > 0, "> 0");
  return config;
}

/** Reads and validates a config file. */
export function loadConfig(path: string): ClpConfig {
  if (!existsSync(path)) throw new ClpConfigError(`config file ${path} not found`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ClpConfigError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return resolveConfig(raw, path);
}
