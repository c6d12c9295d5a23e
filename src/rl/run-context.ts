/**
 * Set-up every training method shares before its first RL step: the validated run folder, the
 * reward functions, π_ref, the training examples and the reward normalisation measured on π_ref.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ClpConfigError, type ClpConfig } from "../clp/config.js";
import { defaultTaskPaths, loadSplit, type SummaryExample } from "../data/dataset.js";
import { loadModelFolder } from "../model/checkpoint.js";
import { generate } from "../model/generate.js";
import type { Gpt } from "../model/gpt.js";
import { DEFAULT_MODULE_LOAD_SECONDS, getReward, listRewards, loadRewardModules, RewardNormalizer, RewardScorer, type RewardFunction, type RewardInput } from "../rewards/index.js";
import { decodeSummary, promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { mixSeed, Rng } from "../util/rng.js";
import { mean, pearson, spearman } from "./stats.js";
import { writeTextAtomic } from "../util/fs-errors.js";

/** Options that do not change the result. */
export interface TrainOptions {
  quiet?: boolean;
  /** Overrides the training examples (tests use small slices). */
  trainExamples?: SummaryExample[];
  /** Continues the run in its folder from its saved checkpoints instead of starting anew. */
  resume?: boolean;
  /** When aborted, training saves a checkpoint after the current step and stops. */
  signal?: AbortSignal;
}

/** Shared state of one training run; the caller disposes `reference` and closes `scorer`. */
export interface RunContext {
  config: ClpConfig;
  runDir: string;
  reference: Gpt;
  tokenizer: Tokenizer;
  rewards: RewardFunction[];
  /** Scores samples with `rewards` under rl.rewardTimeoutSeconds. */
  scorer: RewardScorer;
  normalizer: RewardNormalizer;
  examples: SummaryExample[];
  options: TrainOptions;
  log(message: string): void;
}

/**
 * Registers the rewards of the config's reward modules (relative paths are taken from `baseDir`,
 * then the working directory). Call it before training or evaluating a config that names any.
 * Each import may take rl.rewardTimeoutSeconds, or DEFAULT_MODULE_LOAD_SECONDS when that is 0.
 */
export async function loadConfigRewards(config: ClpConfig, baseDir = process.cwd()): Promise<void> {
  const limit = config.rl.rewardTimeoutSeconds > 0 ? config.rl.rewardTimeoutSeconds : DEFAULT_MODULE_LOAD_SECONDS;
  await loadRewardModules(config.rewardModules, baseDir, { timeoutSeconds: limit, raiseHint: "raise rl.rewardTimeoutSeconds" });
}

/** Looks up each objective's reward function; an unknown name is a config error. */
export function resolveRewards(config: ClpConfig): RewardFunction[] {
  return config.objectives.map((name) => {
    if (!listRewards().some((r) => r.name === name)) {
      throw new ClpConfigError(
        `field "objectives" names unknown reward "${name}"; available rewards: ${listRewards().map((r) => r.name).join(", ")}; add your own with "rewardModules"`,
      );
    }
    return getReward(name);
  });
}

/** The reward inputs of generated summaries of task examples. */
export function rewardInputs(examples: readonly SummaryExample[], summaries: readonly string[]): RewardInput[] {
  return summaries.map((summary, i) => ({ source: examples[i]!.description, summary, reference: examples[i]!.synopsis }));
}

/**
 * Resolves a model or run folder named in a config: a relative path is taken from the working
 * directory, or else from the clp package root, where the committed models/ref lives.
 */
export function resolveReferencePath(reference: string, field = "reference"): string {
  if (reference === "") throw new ClpConfigError(`field "${field}" is empty; name the folder, e.g. "models/ref"`);
  if (isAbsolute(reference) || existsSync(reference)) return reference;
  const packageRoot = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
  const fromRoot = join(packageRoot, reference);
  if (existsSync(fromRoot)) return fromRoot;
  throw new ClpConfigError(`field "${field}" names ${reference}, which is neither in the working directory nor in ${packageRoot}`);
}

/**
 * Measures each reward's mean and std (and their correlations) on samples of π_ref. With
 * rl.onRewardError "skip", samples that a reward fails on are left out.
 */
async function calibrate(config: ClpConfig, reference: Gpt, tokenizer: Tokenizer, scorer: RewardScorer, examples: SummaryExample[], log: (message: string) => void) {
  const rng = new Rng(mixSeed(config.seed, 0x6361));
  const picked = rng.shuffle(examples.map((_, i) => i)).slice(0, config.calibration.prompts).map((i) => examples[i]!);
  const rows = picked.flatMap((e) => Array.from({ length: config.calibration.samplesPerPrompt }, () => e));
  const prompts = rows.map((e) => promptIds(tokenizer, e.description, config.data.maxSourceTokens));
  const generation = generate(reference, prompts, null, {
    maxNewTokens: config.rl.maxNewTokens,
    temperature: config.rl.temperature,
    eosId: tokenizer.eosId,
    padId: tokenizer.padId,
    seeds: rows.map((_, i) => mixSeed(config.seed, 0x6361, i)),
  });
  const summaries = generation.tokens.map((t) => decodeSummary(tokenizer, t));
  let scores: number[][];
  let unscorableSamples = 0;
  if (config.rl.onRewardError === "skip") {
    const scored = await scorer.scorePerSample(rewardInputs(rows, summaries));
    scores = scored.rows.filter((row): row is number[] => row !== null);
    unscorableSamples = rows.length - scores.length;
    if (unscorableSamples > 0) log(`calibration: left out ${unscorableSamples} of ${rows.length} samples that a reward failed on. First error: ${scored.errors[0]!.message}`);
  } else {
    scores = await scorer.scoreAll(rewardInputs(rows, summaries));
  }
  let normalizer: RewardNormalizer;
  try {
    normalizer = RewardNormalizer.fit(config.objectives, scores);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new ClpConfigError(`reward calibration on ${scores.length} samples of π_ref failed: ${err.message}; raise calibration.prompts or calibration.samplesPerPrompt`);
  }
  const columns = config.objectives.map((_, j) => scores.map((r) => r[j]!));
  const correlations: Record<string, { pearson: number; spearman: number }> = {};
  for (let a = 0; a < columns.length; a++) {
    for (let b = a + 1; b < columns.length; b++) {
      correlations[`${config.objectives[a]}~${config.objectives[b]}`] = {
        pearson: pearson(columns[a]!, columns[b]!),
        spearman: spearman(columns[a]!, columns[b]!),
      };
    }
  }
  return { normalizer, correlations, samples: scores.length, unscorableSamples, means: columns.map(mean) };
}

/**
 * Checks everything a run reads before it writes anything: the reward names, π_ref's folder and
 * the earlier runs a baseline borrows (experts for logit mixing, the aligned run for DeRa).
 */
export function validateRunInputs(config: ClpConfig): void {
  resolveRewards(config);
  resolveReferencePath(config.reference);
  if ((config.method === "rewarded-soups" || config.method === "logit-mixing") && config.baseline.expertsFrom !== "") {
    const from = resolveReferencePath(config.baseline.expertsFrom, "baseline.expertsFrom");
    if (!existsSync(join(from, "policy.json"))) {
      throw new ClpConfigError(`field "baseline.expertsFrom" names ${from}, which has no policy.json; train the experts first (clp train --config configs/methods/rewarded-soups.json) or clear the field to train them here`);
    }
  }
  if (config.method === "dera") {
    const aligned = resolveReferencePath(config.baseline.alignedFrom, "baseline.alignedFrom");
    if (!existsSync(join(aligned, "policy.json")) && !existsSync(join(aligned, "checkpoint"))) {
      throw new ClpConfigError(`field "baseline.alignedFrom" names ${aligned}, which is not a finished run; train the aligned policy first (for example clp train --config configs/methods/attn-clp.json)`);
    }
  }
}

/** True when `dir` is empty or looks like a clp run folder, so --overwrite may delete it. */
export function isRunFolder(dir: string): boolean {
  const entries = readdirSync(dir);
  if (entries.length === 0) return true;
  return entries.includes("config.json") && ["reward-normalizer.json", "metrics.jsonl", "policy.json", "calibration.json"].some((f) => entries.includes(f));
}

/**
 * Reopens a run folder for `--resume`: the config must be the one the run saved, and the reward
 * normalisation is read back rather than measured again.
 */
async function resumeRun(config: ClpConfig, runDir: string, options: TrainOptions): Promise<RunContext> {
  const savedConfig = join(runDir, "config.json");
  const normalizerPath = join(runDir, "reward-normalizer.json");
  if (!existsSync(savedConfig) || !existsSync(normalizerPath)) {
    throw new ClpConfigError(`${runDir} is not a run folder that can be resumed (config.json or reward-normalizer.json is missing); start it with clp train --config`);
  }
  const saved = JSON.parse(readFileSync(savedConfig, "utf8")) as unknown;
  const { rl: savedRl, ...savedRest } = saved as ClpConfig;
  const { rl, ...rest } = config;
  // Only fields that leave the results unchanged may differ on resume: the step count, so a run
  // can be extended, and the reward time-out, so a slow reward can be given more time.
  const comparable = (fields: ClpConfig["rl"]) => JSON.stringify({ ...fields, steps: 0, rewardTimeoutSeconds: 0 });
  if (JSON.stringify(savedRest) !== JSON.stringify(rest) || comparable(savedRl) !== comparable(rl)) {
    throw new ClpConfigError(`${savedConfig} differs from the config given to resume it; resume with the run's own config (clp train --resume ${runDir})`);
  }
  const normalizer = RewardNormalizer.load(normalizerPath, config.objectives);
  return { ...(await openRun(config, runDir, options)), normalizer };
}

/**
 * Loads what every run needs besides the reward normalisation (rewards, π_ref, training examples)
 * and writes the resolved config into the run folder.
 */
async function openRun(config: ClpConfig, runDir: string, options: TrainOptions): Promise<Omit<RunContext, "normalizer">> {
  const rewards = resolveRewards(config);
  const log = (message: string) => {
    if (!options.quiet) process.stderr.write(`clp train: ${message}\n`);
  };
  const scorer = await RewardScorer.open(rewards, { timeoutSeconds: config.rl.rewardTimeoutSeconds, raiseHint: "raise rl.rewardTimeoutSeconds" });
  if (scorer.unlimitedReason !== null && config.rl.rewardTimeoutSeconds > 0) log(`no reward time-out: ${scorer.unlimitedReason}`);
  try {
    const ref = loadModelFolder(resolveReferencePath(config.reference));
    ref.model.requiresGrad_(false);
    mkdirSync(runDir, { recursive: true });
    writeTextAtomic(join(runDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
    const limit = config.data.trainLimit > 0 ? { limit: config.data.trainLimit } : {};
    const examples = options.trainExamples ?? loadSplit(defaultTaskPaths().train, limit);
    return { config, runDir, reference: ref.model, tokenizer: ref.tokenizer, rewards, scorer, examples, options, log };
  } catch (err) {
    await scorer.close();
    throw err;
  }
}

/**
 * Checks the run folder (new or empty, so one folder never mixes the metrics of two runs), loads
 * π_ref and the data, writes the resolved config and measures the reward normalisation.
 */
export async function prepareRun(config: ClpConfig, runDir: string, options: TrainOptions = {}): Promise<RunContext> {
  if (options.resume) return resumeRun(config, runDir, options);
  if (existsSync(runDir) && readdirSync(runDir).length > 0) {
    throw new ClpConfigError(`run folder ${runDir} already contains files; choose another --run-dir, or remove it (clp train --overwrite)`);
  }
  validateRunInputs(config);
  const run = await openRun(config, runDir, options);
  run.log(`calibrating reward normalisation on ${config.calibration.prompts} × ${config.calibration.samplesPerPrompt} samples of π_ref`);
  let calibration: Awaited<ReturnType<typeof calibrate>>;
  try {
    calibration = await calibrate(config, run.reference, run.tokenizer, run.scorer, run.examples, run.log);
  } catch (err) {
    await run.scorer.close();
    run.reference.dispose();
    throw err;
  }
  calibration.normalizer.save(join(runDir, "reward-normalizer.json"));
  writeTextAtomic(join(runDir, "calibration.json"), JSON.stringify({ ...calibration, normalizer: calibration.normalizer.toJSON() }, null, 2) + "\n");
  return { ...run, normalizer: calibration.normalizer };
}
