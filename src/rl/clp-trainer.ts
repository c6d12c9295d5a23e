/**
 * CLP training: multi-task REINFORCE over weight vectors w ~ Dirichlet, with a leave-one-out
 * baseline over k samples per (prompt, w) and a KL(π‖π_ref) penalty folded into the reward:
 *
 *   Rᵢ = wᵀ z(R(x, yᵢ)) − α Σₜ [log π(yᵢₜ | x, w) − log π_ref(yᵢₜ | x)]
 *   loss = −1/N Σᵢ (Rᵢ − mean_{j≠i} Rⱼ) Σₜ log π(yᵢₜ | x, w)
 *
 * where z is the reward normalisation measured under π_ref before training.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../torch/index.js";
import { tidy } from "../torch/index.js";
import { ClpPolicy, mixTensor } from "../clp/policy.js";
import { ClpConfigError, type ClpConfig } from "../clp/config.js";
import { loadSplit, defaultTaskPaths, type SummaryExample } from "../data/dataset.js";
import { loadModelFolder } from "../model/checkpoint.js";
import { generate } from "../model/generate.js";
import type { Gpt } from "../model/gpt.js";
import { listRewards, getReward, RewardError, RewardNormalizer, scoreAll, type RewardFunction } from "../rewards/index.js";
import { decodeSummary, promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { makeOptimizer } from "../train/lm.js";
import { JsonlWriter } from "../util/jsonl.js";
import { ProgressBar } from "../util/progress.js";
import { mixSeed, Rng } from "../util/rng.js";
import { leaveOneOutAdvantages } from "./advantages.js";
import { completionLogProbs, packBatch } from "./sequences.js";
import { mean, pearson, spearman } from "./stats.js";

/** Options that do not change the result. */
export interface TrainOptions {
  quiet?: boolean;
  /** Overrides the training examples (tests use small slices). */
  trainExamples?: SummaryExample[];
}

/** The trained policy, π_ref and the run's normalisation; the caller disposes the models. */
export interface TrainResult {
  policy: ClpPolicy;
  reference: Gpt;
  tokenizer: Tokenizer;
  normalizer: RewardNormalizer;
  runDir: string;
}

/** Scores summaries with every objective; rows are samples, columns objectives. */
export function scoreSummaries(rewards: readonly RewardFunction[], examples: readonly SummaryExample[], summaries: readonly string[]): number[][] {
  return scoreAll(
    rewards,
    summaries.map((summary, i) => ({ source: examples[i]!.description, summary, reference: examples[i]!.synopsis })),
  );
}

/** Measures each reward's mean and std (and their correlations) on samples of π_ref. */
function calibrate(config: ClpConfig, reference: Gpt, tokenizer: Tokenizer, rewards: RewardFunction[], examples: SummaryExample[]) {
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
  const scores = scoreSummaries(rewards, rows, summaries);
  const normalizer = RewardNormalizer.fit(config.objectives, scores);
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
  return { normalizer, correlations, samples: rows.length, means: columns.map(mean) };
}

/** Looks up each objective's reward function; an unknown name is a config error. */
export function resolveRewards(config: ClpConfig): RewardFunction[] {
  return config.objectives.map((name) => {
    if (!listRewards().some((r) => r.name === name)) {
      throw new ClpConfigError(
        `field "objectives" names unknown reward "${name}"; available rewards: ${listRewards().map((r) => r.name).join(", ")}`,
      );
    }
    return getReward(name);
  });
}

/**
 * Resolves the config's reference folder: a relative path is taken from the working directory,
 * or else from the clp package root, where the committed models/ref lives.
 */
export function resolveReferencePath(reference: string): string {
  if (reference === "") throw new ClpConfigError('field "reference" is empty; name the reference model folder, e.g. "models/ref"');
  if (isAbsolute(reference) || existsSync(reference)) return reference;
  const packageRoot = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
  const fromRoot = join(packageRoot, reference);
  if (existsSync(fromRoot)) return fromRoot;
  throw new ClpConfigError(`field "reference" names ${reference}, which is neither in the working directory nor in ${packageRoot}`);
}

/**
 * Trains a CLP policy from `config`, writing metrics and checkpoints into `runDir`. The run folder
 * must be new or empty, so one folder never mixes the metrics of two runs.
 */
export function trainClp(config: ClpConfig, runDir: string, options: TrainOptions = {}): TrainResult {
  if (existsSync(runDir) && readdirSync(runDir).length > 0) {
    throw new ClpConfigError(`run folder ${runDir} already holds files; choose another --run-dir, or remove it (clp train --overwrite)`);
  }
  const rewards = resolveRewards(config);
  const ref = loadModelFolder(resolveReferencePath(config.reference));
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  const reference = ref.model;
  const tokenizer = ref.tokenizer;
  reference.requiresGrad_(false);
  const examples = options.trainExamples ?? loadSplit(defaultTaskPaths().train, config.data.trainLimit > 0 ? { limit: config.data.trainLimit } : {});
  const m = config.objectives.length;
  const log = (message: string) => {
    if (!options.quiet) process.stderr.write(`clp train: ${message}\n`);
  };

  log(`calibrating reward normalisation on ${config.calibration.prompts} × ${config.calibration.samplesPerPrompt} samples of π_ref`);
  const calibration = calibrate(config, reference, tokenizer, rewards, examples);
  const normalizer = calibration.normalizer;
  normalizer.save(join(runDir, "reward-normalizer.json"));
  writeFileSync(join(runDir, "calibration.json"), JSON.stringify({ ...calibration, normalizer: normalizer.toJSON() }, null, 2) + "\n");

  const policy = ClpPolicy.fromReference(reference, tokenizer, {
    objectives: config.objectives,
    variant: config.conditioning.variant,
    promptFormat: null,
    maxSourceTokens: config.data.maxSourceTokens,
    normalizer: normalizer.toJSON(),
    reference: config.reference,
  });
  const model = policy.model;
  model.requiresGrad_(true);
  const optimizer = makeOptimizer(model, config.rl.lr, config.rl.weightDecay);
  const metrics = new JsonlWriter(join(runDir, "metrics.jsonl"));
  const bar = new ProgressBar("clp train", config.rl.steps, process.stderr, !options.quiet);
  const checkpointDir = join(runDir, "checkpoint");
  const dataRng = new Rng(mixSeed(config.seed, 0x64617461));
  const weightRng = new Rng(mixSeed(config.seed, 0x77));
  const order: number[] = [];
  const { promptsPerStep: P, samplesPerPrompt: k } = config.rl;
  const started = Date.now();

  const saveCheckpoint = () => {
    model.requiresGrad_(false);
    policy.save(checkpointDir, { runDir, config });
    model.requiresGrad_(true);
  };

  try {
    for (let step = 0; step < config.rl.steps; step++) {
      const stepStart = Date.now();
      const picked: SummaryExample[] = [];
      const weights: number[][] = [];
      for (let p = 0; p < P; p++) {
        if (order.length === 0) order.push(...dataRng.shuffle(examples.map((_, i) => i)));
        picked.push(examples[order.pop()!]!);
        weights.push(weightRng.dirichlet(m, config.rl.dirichletAlpha));
      }
      const rows = picked.flatMap((e) => Array.from({ length: k }, () => e));
      const rowWeights = weights.flatMap((w) => Array.from({ length: k }, () => w));
      const prompts = rows.map((e) => promptIds(tokenizer, e.description, config.data.maxSourceTokens));

      // Rollout with the current policy, each row under its own w.
      const generation = generate(model, prompts, rowWeights, {
        maxNewTokens: config.rl.maxNewTokens,
        temperature: config.rl.temperature,
        eosId: tokenizer.eosId,
        padId: tokenizer.padId,
        seeds: rows.map((_, i) => mixSeed(config.seed, step + 1, i)),
      });
      const rolloutSeconds = (Date.now() - stepStart) / 1000;
      const summaries = generation.tokens.map((t) => decodeSummary(tokenizer, t));
      let raw: number[][];
      try {
        raw = scoreSummaries(rewards, rows, summaries);
      } catch (err) {
        if (err instanceof RewardError) {
          saveCheckpoint();
          throw new RewardError(
            `${err.message} (at RL step ${step + 1}; the policy before this step is saved in ${checkpointDir})`,
            { rewardName: err.rewardName, sampleIndex: err.sampleIndex, summary: err.summary, value: err.value, cause: err },
          );
        }
        throw err;
      }
      const normalized = raw.map((r) => normalizer.normalizeRow(r));
      const scalarized = normalized.map((z, i) => z.reduce((a, zj, j) => a + rowWeights[i]![j]! * zj, 0));

      const stats = tidy(() => {
        const packed = packBatch(prompts, generation.tokens, tokenizer.padId);
        const mix = mixTensor(rowWeights, config.objectives);
        const logp = completionLogProbs(model, packed, mix, { temperature: config.rl.temperature });
        const refLogp = torch.noGrad(() => completionLogProbs(reference, packed, null, { temperature: config.rl.temperature }));
        const seqLogp = logp.sum(1);
        const klPerSeq = torch.noGrad(() => logp.detach().sub(refLogp).sum(1)).toArray();
        const tokenCounts = packed.tokenMask.sum(1).toArray();
        const entropyEstimate = -logp.detach().sum().item() / tokenCounts.reduce((a, b) => a + b, 0);
        const total = scalarized.map((r, i) => r - config.rl.klCoef * klPerSeq[i]!);
        const groups = Array.from({ length: P }, (_, p) => total.slice(p * k, p * k + k));
        const advantages = leaveOneOutAdvantages(groups).flat();
        const loss = seqLogp.mul(torch.tensor(advantages)).mean().neg();
        loss.backward();
        return { loss: loss.item(), klPerSeq, tokenCounts, entropyEstimate, total };
      });
      const gradNorm = torch.clipGradNorm(model.parameters(), config.rl.gradClip);
      const skipped = !Number.isFinite(gradNorm);
      if (!skipped) optimizer.step();
      optimizer.zeroGrad();
      policy.metadata.step = step + 1;

      const record: Record<string, unknown> = {
        step: step + 1,
        loss: stats.loss,
        rewards: Object.fromEntries(config.objectives.map((name, j) => [name, mean(raw.map((r) => r[j]!))])),
        normalizedRewards: Object.fromEntries(config.objectives.map((name, j) => [name, mean(normalized.map((r) => r[j]!))])),
        scalarizedReward: mean(scalarized),
        kl: mean(stats.klPerSeq),
        entropy: stats.entropyEstimate,
        completionTokens: mean(stats.tokenCounts),
        summaryWords: mean(summaries.map((s) => (s.match(/\S+/g) ?? []).length)),
        gradNorm,
        skippedUpdate: skipped,
        rolloutSeconds,
        stepSeconds: (Date.now() - stepStart) / 1000,
        elapsedSeconds: (Date.now() - started) / 1000,
      };
      metrics.write(record);
      bar.update(step + 1, `R ${mean(scalarized).toFixed(2)} kl ${mean(stats.klPerSeq).toFixed(2)} len ${mean(stats.tokenCounts).toFixed(1)}`);
      if ((step + 1) % config.rl.checkpointEvery === 0) saveCheckpoint();
    }
    saveCheckpoint();
  } catch (err) {
    optimizer.dispose();
    model.requiresGrad_(false);
    throw err;
  }
  optimizer.dispose();
  model.requiresGrad_(false);
  log(`trained ${config.rl.steps} steps in ${Math.round((Date.now() - started) / 1000)} s; checkpoint in ${checkpointDir}`);
  return { policy, reference, tokenizer, normalizer, runDir };
}
