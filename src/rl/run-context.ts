/**
 * Set-up every training method shares before its first RL step: the validated run folder, the
 * reward functions, π_ref, the training examples and the reward normalisation measured on π_ref.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ClpConfigError, type ClpConfig } from "../clp/config.js";
import { defaultTaskPaths, loadSplit, type SummaryExample } from "../data/dataset.js";
import { loadModelFolder } from "../model/checkpoint.js";
import { generate } from "../model/generate.js";
import type { Gpt } from "../model/gpt.js";
import { DEFAULT_MODULE_LOAD_SECONDS, getReward, listRewards, loadRewardModules, RewardNormalizer, RewardScorer, summaryInputs, type RewardFunction } from "../rewards/index.js";
import { decodeSummary, promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { mixSeed, Rng } from "../util/rng.js";
import { assertRunFolderFree, lockRunFolder, LOCK_FILE } from "./run-lock.js";
import { listCheckpoints, type TrainingState } from "./training-state.js";
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
  /** Releases the run folder's lock (see run-lock.ts), which the context holds from its start. */
  releaseLock(): void;
  normalizer: RewardNormalizer;
  examples: SummaryExample[];
  options: TrainOptions;
  log(message: string): void;
  /** Prints a warning about lost or skipped data, also with `quiet`. */
  warn(message: string): void;
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

/**
 * Resolves a model or run folder named in a config: a relative path is taken from the working
 * directory, or else from the clp package root, where the committed models/ref lives.
 */
export function resolveReferencePath(reference: string, field = "reference"): string {
  if (reference === "") throw new ClpConfigError(`field "${field}" is empty; name the folder, e.g. "models/ref"`);
  if (existsSync(reference)) return reference;
  if (isAbsolute(reference)) throw new ClpConfigError(`field "${field}" names ${reference}, which does not exist`);
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
    const scored = await scorer.scorePerSample(summaryInputs(rows, summaries));
    scores = scored.rows.filter((row): row is number[] => row !== null);
    unscorableSamples = rows.length - scores.length;
    if (unscorableSamples > 0) log(`calibration: left out ${unscorableSamples} of ${rows.length} samples that a reward failed on. First error: ${scored.errors[0]!.message}`);
  } else {
    scores = await scorer.scoreAll(summaryInputs(rows, summaries));
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
  const reference = resolveReferencePath(config.reference);
  const missing = ["config.json", "model.safetensors", "tokenizer.json"].filter((file) => !existsSync(join(reference, file)));
  if (missing.length > 0) {
    throw new ClpConfigError(`field "reference" names ${reference}, which is not a model folder (no ${missing.join(", ")}); point it at π_ref, for example "models/ref"`);
  }
  // Loading π_ref once here, before anything is written or deleted, catches a damaged model.
  try {
    loadModelFolder(reference).model.dispose();
  } catch (err) {
    throw new ClpConfigError(`field "reference" names ${reference}, which does not load: ${(err as Error).message}`);
  }
  const { model } = JSON.parse(readFileSync(join(reference, "config.json"), "utf8")) as { model?: { contextLength?: number } };
  const context = model?.contextLength;
  const longest = Math.max(config.rl.maxNewTokens, config.eval.maxNewTokens);
  if (typeof context === "number" && config.data.maxSourceTokens + longest >= context) {
    throw new ClpConfigError(
      `data.maxSourceTokens (${config.data.maxSourceTokens}) plus the longest summary (maxNewTokens ${longest}) leaves no room for the prompt's other tokens in π_ref's context of ${context}; ` +
        `keep their sum below ${context} with a margin, e.g. data.maxSourceTokens ${Math.max(1, context - longest - 32)}`,
    );
  }
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
  const entries = readdirSync(dir).filter((name) => name !== LOCK_FILE);
  if (entries.length === 0) return true;
  if (!entries.includes("config.json")) return false;
  // A run whose calibration failed holds only its config and the record of its π_ref.
  return entries.every((name) => name === "config.json" || name === "reference.json") || ["reward-normalizer.json", "metrics.jsonl", "policy.json", "calibration.json"].some((f) => entries.includes(f));
}

/**
 * Reopens a run folder for `--resume`: the config must be the one the run saved, and the reward
 * normalisation is read back rather than measured again.
 */
async function resumeRun(config: ClpConfig, runDir: string, options: TrainOptions): Promise<RunContext> {
  const savedConfig = join(runDir, "config.json");
  const normalizerPath = join(runDir, "reward-normalizer.json");
  if (!existsSync(savedConfig) || !existsSync(normalizerPath)) {
    throw new ClpConfigError(
      `${runDir} is not a run folder that can be resumed (config.json or reward-normalizer.json is missing, so its calibration did not finish); ` +
        `start it again with clp train --config ${savedConfig} --run-dir ${runDir} --overwrite`,
    );
  }
  const saved = JSON.parse(readFileSync(savedConfig, "utf8")) as ClpConfig;
  const changed = configChanges(saved, config);
  if (changed.length > 0) {
    throw new ClpConfigError(`${savedConfig} differs from the config given to resume it (${changed.join("; ")}); resume with the run's own config (clp train --resume ${runDir})`);
  }
  checkAgainstCheckpoints(config, runDir);
  let normalizer: RewardNormalizer;
  try {
    normalizer = RewardNormalizer.load(normalizerPath, config.objectives);
  } catch (err) {
    throw new ClpConfigError(`${(err as Error).message}; the run's calibration is damaged, so start it again with clp train --config ${savedConfig} --run-dir ${runDir} --overwrite`);
  }
  return { ...(await openRun(config, runDir, options, lockRunFolder(runDir))), normalizer };
}

/** Leaf values of a JSON value by dotted path. */
function leaves(value: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) leaves(child, prefix === "" ? key : `${prefix}.${key}`, out);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

/**
 * Lists the fields in which `given` differs from `saved`, as in "rl.lr is 0.5, was 0.0001". Fields
 * that leave the results unchanged may change on resume and are left out. They are rl.steps, so a
 * run can be extended, rl.rewardTimeoutSeconds, so a slow reward can be given more time, and
 * reference, so π_ref can move (reference.json checks that its weights are the same).
 */
export function configChanges(saved: unknown, given: unknown): string[] {
  const before = leaves(saved);
  const after = leaves(given);
  const changes: string[] = [];
  for (const path of new Set([...before.keys(), ...after.keys()])) {
    if (path === "rl.steps" || path === "rl.rewardTimeoutSeconds" || path === "reference") continue;
    if (before.get(path) !== after.get(path)) changes.push(`${path} is ${after.get(path) ?? "missing"}, was ${before.get(path) ?? "missing"}`);
  }
  return changes;
}

/** Lists the state.json files of the newest checkpoint of every policy a run trains. */
function newestTrainingStates(runDir: string): string[] {
  const policyDirs = [runDir];
  for (const group of ["experts", "per-weight"]) {
    const dir = join(runDir, group);
    if (existsSync(dir)) policyDirs.push(...readdirSync(dir).map((name) => join(dir, name)));
  }
  return policyDirs
    .map((dir) => join(dir, "checkpoints"))
    .filter((root) => existsSync(root))
    .flatMap((root) => listCheckpoints(root).slice(0, 1).map((name) => join(root, name, "state.json")))
    .filter((path) => existsSync(path));
}

/**
 * Checks a resumed run's config against the configs its checkpoints were trained with, which
 * catches an edited config.json, and checks that rl.steps does not fall below the steps done.
 */
function checkAgainstCheckpoints(config: ClpConfig, runDir: string): void {
  for (const path of newestTrainingStates(runDir)) {
    let state: TrainingState;
    try {
      state = JSON.parse(readFileSync(path, "utf8")) as TrainingState;
    } catch {
      continue; // A damaged checkpoint is reported, and skipped, when it is loaded.
    }
    const changed = configChanges(state.config, config);
    if (changed.length > 0) {
      throw new ClpConfigError(
        `${join(runDir, "config.json")} differs from the config that ${dirname(path)} was trained with (${changed.join("; ")}); ` +
          `restore the run's config (each checkpoint's state.json holds it) or start a new run`,
      );
    }
    if (state.step > config.rl.steps) {
      throw new ClpConfigError(`${runDir} has trained ${state.step} steps already (${dirname(path)}); --steps can extend a run but not shorten it, so give --steps ${state.step} or more`);
    }
  }
}

/**
 * Loads what every run needs besides the reward normalisation (rewards, π_ref, training examples)
 * and writes the resolved config into the run folder.
 */
async function openRun(config: ClpConfig, runDir: string, options: TrainOptions, releaseLock: () => void): Promise<Omit<RunContext, "normalizer">> {
  try {
    return await loadRunInputs(config, runDir, options, releaseLock);
  } catch (err) {
    releaseLock();
    throw err;
  }
}

/**
 * Records the SHA-256 of π_ref's weights in RUN/reference.json when a run starts, and on resume
 * checks that the reference is still the same model. A rebuilt π_ref, or a relative path that
 * resolves elsewhere from another folder, would otherwise change the KL penalty without a word.
 */
function checkReferenceDigest(referenceDir: string, runDir: string, resume: boolean, warn: (message: string) => void): void {
  const weights = join(referenceDir, "model.safetensors");
  const digest = createHash("sha256").update(readFileSync(weights)).digest("hex");
  const recordPath = join(runDir, "reference.json");
  if (resume && existsSync(recordPath)) {
    const recorded = JSON.parse(readFileSync(recordPath, "utf8")) as { path: string; sha256: string };
    if (recorded.sha256 !== digest) {
      throw new ClpConfigError(
        `π_ref ${resolve(referenceDir)} is not the model this run was trained against (${recordPath} records ${recorded.path} with another SHA-256); ` +
          `point "reference" at that model, or start a new run`,
      );
    }
    return;
  }
  if (resume) warn(`${recordPath} is missing, so π_ref cannot be checked against the model the run started with; recording ${resolve(referenceDir)} now`);
  mkdirSync(runDir, { recursive: true });
  writeTextAtomic(recordPath, JSON.stringify({ path: resolve(referenceDir), sha256: digest }, null, 2) + "\n");
}

async function loadRunInputs(config: ClpConfig, runDir: string, options: TrainOptions, releaseLock: () => void): Promise<Omit<RunContext, "normalizer">> {
  const rewards = resolveRewards(config);
  const log = (message: string) => {
    if (!options.quiet) process.stderr.write(`clp train: ${message}\n`);
  };
  const warn = (message: string) => process.stderr.write(`clp train: ${message}\n`);
  const scorer = await RewardScorer.open(rewards, { timeoutSeconds: config.rl.rewardTimeoutSeconds, raiseHint: "raise rl.rewardTimeoutSeconds" });
  scorer.warn = warn;
  if (scorer.unlimitedReason !== null && config.rl.rewardTimeoutSeconds > 0) warn(`no reward time-out: ${scorer.unlimitedReason}`);
  try {
    const referenceDir = resolveReferencePath(config.reference);
    checkReferenceDigest(referenceDir, runDir, options.resume === true, warn);
    const ref = loadModelFolder(referenceDir);
    ref.model.requiresGrad_(false);
    mkdirSync(runDir, { recursive: true });
    const configPath = join(runDir, "config.json");
    const configText = JSON.stringify(config, null, 2) + "\n";
    // Rewritten only when it changes (a resume with more steps), so resuming needs no free space.
    if (!existsSync(configPath) || readFileSync(configPath, "utf8") !== configText) writeTextAtomic(configPath, configText);
    const limit = config.data.trainLimit > 0 ? { limit: config.data.trainLimit } : {};
    const examples = options.trainExamples ?? loadSplit(defaultTaskPaths().train, limit);
    return { config, runDir, reference: ref.model, tokenizer: ref.tokenizer, rewards, scorer, examples, options, log, warn, releaseLock };
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
  if (existsSync(runDir)) assertRunFolderFree(runDir);
  if (existsSync(runDir) && readdirSync(runDir).some((name) => name !== LOCK_FILE)) {
    throw new ClpConfigError(`run folder ${runDir} already contains files; choose another --run-dir, or remove it (clp train --overwrite)`);
  }
  validateRunInputs(config);
  mkdirSync(runDir, { recursive: true });
  const run = await openRun(config, runDir, options, lockRunFolder(runDir));
  run.log(`calibrating reward normalisation on ${config.calibration.prompts} × ${config.calibration.samplesPerPrompt} samples of π_ref`);
  let calibration: Awaited<ReturnType<typeof calibrate>>;
  try {
    calibration = await calibrate(config, run.reference, run.tokenizer, run.scorer, run.examples, run.log);
  } catch (err) {
    await run.scorer.close();
    run.reference.dispose();
    run.releaseLock();
    throw err;
  }
  calibration.normalizer.save(join(runDir, "reward-normalizer.json"));
  writeTextAtomic(join(runDir, "calibration.json"), JSON.stringify({ ...calibration, normalizer: calibration.normalizer.toJSON() }, null, 2) + "\n");
  return { ...run, normalizer: calibration.normalizer };
}
