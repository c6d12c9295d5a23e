/**
 * The RL loop every method trains with: multi-task REINFORCE over weight vectors w (drawn from a
 * Dirichlet, or fixed for single-weight policies), with a leave-one-out baseline over k samples
 * per (prompt, w) and a KL(π‖π_ref) penalty folded into the reward:
 *
 *   Rᵢ = wᵀ z(R(x, yᵢ)) − α Σₜ [log π(yᵢₜ | x, w) − log π_ref(yᵢₜ | x)]
 *   loss = −1/N Σᵢ (Rᵢ − mean_{j≠i} Rⱼ) Σₜ log π(yᵢₜ | x, w)
 *
 * where z is the reward normalisation measured under π_ref before training. π_ref scores the same
 * prompt the policy saw, steering prefix included, so the step-0 KL is exactly 0 for every variant.
 * A KL-steerable policy draws α per prompt, log-uniformly from its range.
 *
 * Each batch is sampled from the current policy and used for one update, so the gradient is
 * on-policy and no importance ratio enters the loss. The metrics log how far the sampler's
 * log-probabilities are from the ones the loss uses (samplerLogProbGap), which is float32 rounding.
 *
 * Sampling divides the logits by rl.temperature T, and π and π_ref are both scored at the same T,
 * so the penalty is the KL between the tempered distributions softmax(logits / T) of the two
 * models (at the default T = 1, the KL of the models themselves). Dropout is off in rollouts, in
 * scoring and in the forward pass the loss differentiates, so the first KL is 0 for any dropout.
 *
 * The penalty uses the per-token estimator k1 = log π − log π_ref summed over the sequence. Folded
 * into the reward, it makes the REINFORCE gradient an unbiased estimate of the sequence KL's
 * gradient. k3 (kl.ts) estimates the same KL, is never negative and varies less when π is close to
 * π_ref, but as a reward it would bias the gradient, so it is only logged (klK3).
 *
 * Faults (docs/METHODS.md): rl.onRewardError "skip" makes a sample that a reward fails on
 * unscorable, with advantage 0 and no part in baselines or reward means, while "stop" saves a
 * checkpoint and raises the RewardError. A step with a non-finite loss or gradient norm, or without
 * a single scored sample, makes no update, and rl.maxSkippedUpdates such steps in a row save a
 * checkpoint and raise SkippedUpdatesError.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import { tidy } from "../torch/index.js";
import { trainsSharedParameters, type ConditioningVariant } from "../clp/conditioning.js";
import { ClpPolicy } from "../clp/policy.js";
import { PROMPT_FORMAT } from "../clp/prompt-format.js";
import type { SummaryExample } from "../data/dataset.js";
import { generate } from "../model/generate.js";
import { CheckpointError, writeFileAtomic } from "../model/safetensors.js";
import { RewardError, ScoringAborted, summaryInputs } from "../rewards/index.js";
import { decodeSummary } from "../task/summarize.js";
import { makeOptimizer } from "../train/lm.js";
import { JsonlWriter, truncateJsonl } from "../util/jsonl.js";
import { ProgressBar } from "../util/progress.js";
import { mixSeed, Rng } from "../util/rng.js";
import { isFlatGroup, leaveOneOutAdvantages } from "./advantages.js";
import { SkippedUpdatesError } from "./errors.js";
import { klK1, klK3 } from "./kl.js";
import { policyGradientLoss } from "./loss.js";
import type { RunContext } from "./run-context.js";
import { completionLogProbs, packBatch } from "./sequences.js";
import { mean } from "./stats.js";
import {
  clpVersion,
  listCheckpoints,
  loadLatestCheckpoint,
  recoverInterruptedSave,
  restoreOptimizer,
  saveTrainingCheckpoint,
  TRAINING_STATE_FORMAT,
  type SkipStreak,
  type TrainingState,
} from "./training-state.js";

/** The policy one RL run trains. */
export interface PolicySpec {
  variant: ConditioningVariant;
  /** Writes w into the prompt. */
  prompt: boolean;
  /** Log-uniform range of α per prompt; null trains at rl.klCoef. */
  klRange: [number, number] | null;
  /** Trains at this one weight vector instead of w ~ Dirichlet. */
  fixedWeights: number[] | null;
  /** Separates the random streams of several policies trained in one run folder. */
  stream: number;
}

/** Returns the spec of the CLP policy a config describes. */
export function clpSpec(ctx: RunContext): PolicySpec {
  const c = ctx.config.conditioning;
  return { variant: c.variant, prompt: c.prompt, klRange: c.klRange, fixedWeights: null, stream: 0 };
}

/** Returns the values of the scorable samples, leaving out the nulls of unscorable ones. */
function scorable<T>(values: readonly (T | null)[]): T[] {
  return values.filter((v): v is T => v !== null);
}

function logUniform(rng: Rng, [low, high]: [number, number]): number {
  return Math.exp(Math.log(low) + rng.next() * (Math.log(high) - Math.log(low)));
}

/** Thrown when a stop request (SIGINT or SIGTERM) ends training after a saved checkpoint. */
export class TrainingInterrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingInterrupted";
  }
}

/**
 * Cuts metrics.jsonl to the records of the `steps` steps a checkpoint holds, dropping steps a crash
 * left unsaved. The file is a log: records that are missing or damaged are reported through `log`
 * and left out, and training goes on.
 */
function truncateMetrics(path: string, steps: number, log: (message: string) => void): void {
  if (!existsSync(path)) {
    if (steps > 0) log(`${path} is missing; the records of steps 1 to ${steps} are lost, and logging goes on from step ${steps + 1}`);
    return;
  }
  const lines = readFileSync(path, "utf8").split("\n").filter((line) => line.trim() !== "");
  const kept: string[] = [];
  let last = 0;
  let damaged = 0;
  for (const [i, line] of lines.entries()) {
    let step: unknown;
    try {
      step = (JSON.parse(line) as { step?: unknown }).step;
    } catch {
      // A torn final line is the record of a step that was never saved.
      if (i === lines.length - 1) break;
      damaged++;
      continue;
    }
    if (typeof step !== "number" || step <= last) {
      damaged++;
      continue;
    }
    if (step > steps) break;
    kept.push(line);
    last = step;
  }
  if (damaged === 0) {
    truncateJsonl(path, kept.length);
  } else {
    log(`${path}: left out ${damaged} damaged or out-of-order records`);
    writeFileAtomic(path, [Buffer.from(kept.map((line) => line + "\n").join(""))]);
  }
  if (last < steps) log(`${path} records steps up to ${last} of the ${steps} the checkpoint holds; the records of the steps between are lost`);
}

/**
 * Trains one policy from π_ref, writing `dir`/metrics.jsonl, resumable checkpoints in
 * `dir`/checkpoints/ and the final policy in `dir`/checkpoint. With `resume`, a finished policy
 * is returned as it is, and an unfinished one continues from its newest valid checkpoint (or
 * from the start when it saved none). Returns the trained policy; the caller disposes it.
 */
export async function trainPolicy(ctx: RunContext, spec: PolicySpec, dir: string, label = "training"): Promise<ClpPolicy> {
  const { config, reference, tokenizer, normalizer, examples } = ctx;
  const m = config.objectives.length;
  const seed = mixSeed(config.seed, spec.stream);
  const checkpointDir = join(dir, "checkpoint");
  const checkpointsRoot = join(dir, "checkpoints");
  const metricsPath = join(dir, "metrics.jsonl");
  if (ctx.options.resume && existsSync(join(checkpointDir, "config.json"))) {
    const finished = ClpPolicy.load(checkpointDir);
    if (finished.metadata.step >= config.rl.steps) {
      ctx.log(`${label}: already trained for ${finished.metadata.step} steps; using ${checkpointDir}`);
      return finished;
    }
    finished.dispose();
  }
  if (ctx.options.resume) recoverInterruptedSave(checkpointsRoot);
  const resumed = ctx.options.resume && listCheckpoints(checkpointsRoot).length > 0
    ? loadLatestCheckpoint(checkpointsRoot, (message) => ctx.log(message))
    : null;
  if (resumed !== null && JSON.stringify(resumed.state.spec) !== JSON.stringify(spec)) {
    resumed.policy.dispose();
    throw new CheckpointError(`${resumed.dir} was trained with ${JSON.stringify(resumed.state.spec)} but the run now asks for ${JSON.stringify(spec)}`);
  }
  const policy = resumed?.policy ?? ClpPolicy.fromReference(reference, tokenizer, {
    objectives: config.objectives,
    variant: spec.variant,
    lora: spec.variant === "lora" ? { rank: config.conditioning.loraRank, alpha: config.conditioning.loraAlpha, targets: config.conditioning.loraTargets } : null,
    promptFormat: spec.prompt || spec.klRange !== null ? PROMPT_FORMAT : null,
    promptWeights: spec.prompt,
    klRange: spec.klRange,
    klCoef: config.rl.klCoef,
    fixedWeights: spec.fixedWeights,
    maxSourceTokens: config.data.maxSourceTokens,
    normalizer: normalizer.toJSON(),
    reference: config.reference,
    seed,
  });
  const model = policy.model;
  const trainable = model.trainableNames(trainsSharedParameters(spec.variant));
  const trainableTensors = trainable.map((name) => model.params.get(name)!);
  const setTraining = (flag: boolean) => {
    for (const t of trainableTensors) t.requiresGrad_(flag);
  };
  const optimizer = makeOptimizer(model, config.rl.lr, config.rl.weightDecay, trainable);
  const dataRng = new Rng(mixSeed(seed, 0x64617461));
  const weightRng = new Rng(mixSeed(seed, 0x77));
  const order: number[] = [];
  let firstStep = 0;
  if (resumed !== null) {
    const { state } = resumed;
    if (state.parameterNames.join(",") !== trainable.join(",")) {
      optimizer.dispose();
      policy.dispose();
      throw new CheckpointError(`${resumed.dir}: the optimizer state covers other parameters than this policy trains`);
    }
    restoreOptimizer(optimizer, trainable, resumed.moments, state.optimizerStepCount);
    dataRng.setState(state.rng.data);
    weightRng.setState(state.rng.weights);
    order.push(...state.order);
    firstStep = state.step;
    truncateMetrics(metricsPath, firstStep, (message) => ctx.warn(message));
    ctx.log(`${label}: resuming after step ${firstStep} from ${resumed.dir}`);
  } else if (existsSync(metricsPath)) {
    if (ctx.options.resume) ctx.warn(`${label}: no checkpoint in ${checkpointsRoot}; training from the start`);
    truncateMetrics(metricsPath, 0, (message) => ctx.warn(message));
  }
  setTraining(true);
  const metrics = new JsonlWriter(metricsPath);
  const bar = new ProgressBar(label, config.rl.steps, process.stderr, !ctx.options.quiet);
  const { promptsPerStep: P, samplesPerPrompt: k } = config.rl;
  const started = Date.now();
  // Skipped steps leave parameters and optimizer unchanged, so the state at the start of the first
  // skipped step in a row, saved when training stops, resumes from the last applied update.
  let consecutiveSkips = resumed?.state.skipStreak?.count ?? 0;
  let beforeSkips: SkipStreak["since"] | null = resumed?.state.skipStreak?.since ?? null;

  /** Saves a resumable checkpoint after `completed` steps, with the generator states to continue from. */
  const saveTrainingState = (completed: number, rng: { data: number[]; weights: number[] }, remaining: number[], streakCarried = true) => {
    setTraining(false);
    try {
      const state: TrainingState = {
        format: TRAINING_STATE_FORMAT,
        step: completed,
        optimizerStepCount: optimizer.stepCount,
        parameterNames: trainable,
        rng,
        order: remaining,
        spec,
        config,
        clpVersion: clpVersion(),
        skipStreak: streakCarried && beforeSkips !== null ? { count: consecutiveSkips, since: beforeSkips } : null,
      };
      return saveTrainingCheckpoint(checkpointsRoot, policy, optimizer, state, config.rl.keepCheckpoints);
    } finally {
      setTraining(true);
    }
  };

  try {
    for (let step = firstStep; step < config.rl.steps; step++) {
      // Lets SIGINT and SIGTERM handlers run between steps.
      await new Promise((resolveTick) => setImmediate(resolveTick));
      if (ctx.options.signal?.aborted) {
        const saved = step > firstStep || resumed === null ? saveTrainingState(step, { data: dataRng.getState(), weights: weightRng.getState() }, [...order]) : resumed.dir;
        throw new TrainingInterrupted(`stopped after step ${step} of ${config.rl.steps}; checkpoint in ${saved}; continue with: clp train --resume ${ctx.runDir}`);
      }
      const stepStart = Date.now();
      const atStepStart = { rng: { data: dataRng.getState(), weights: weightRng.getState() }, order: [...order] };
      const picked: SummaryExample[] = [];
      const steering: { weights: number[]; kl: number }[] = [];
      for (let p = 0; p < P; p++) {
        if (order.length === 0) order.push(...dataRng.shuffle(examples.map((_, i) => i)));
        picked.push(examples[order.pop()!]!);
        const weights = spec.fixedWeights ?? weightRng.dirichlet(m, config.rl.dirichletAlpha);
        const kl = spec.klRange === null ? config.rl.klCoef : logUniform(weightRng, spec.klRange);
        steering.push({ weights, kl });
      }
      const rows = picked.flatMap((e) => Array.from({ length: k }, () => e));
      const rowSteering = steering.flatMap((s) => Array.from({ length: k }, () => s));
      const rowWeights = rowSteering.map((s) => s.weights);
      const prompts = rows.map((e, i) => policy.prompt(e.description, rowSteering[i]!));

      // Rollout with the current policy, each row under its own w.
      const mixRows = model.numCopies === 0 ? null : rowWeights.map((w) => policy.mixRow(w)!);
      const generation = generate(model, prompts, mixRows, {
        maxNewTokens: config.rl.maxNewTokens,
        temperature: config.rl.temperature,
        eosId: tokenizer.eosId,
        padId: tokenizer.padId,
        seeds: rows.map((_, i) => mixSeed(seed, step + 1, i)),
      });
      const rolloutSeconds = (Date.now() - stepStart) / 1000;
      const summaries = generation.tokens.map((t) => decodeSummary(tokenizer, t));
      // A row of raw rewards per sample, or null for an unscorable sample ("skip" mode only).
      let raw: (number[] | null)[];
      let rewardErrors: RewardError[] = [];
      try {
        const inputs = summaryInputs(rows, summaries);
        const signal = ctx.options.signal;
        if (config.rl.onRewardError === "skip") ({ rows: raw, errors: rewardErrors } = await ctx.scorer.scorePerSample(inputs, signal));
        else raw = await ctx.scorer.scoreAll(inputs, signal);
      } catch (err) {
        // SIGINT or SIGTERM while a reward is still scoring: the step is abandoned, not finished.
        if (err instanceof ScoringAborted) {
          const saved = saveTrainingState(step, atStepStart.rng, atStepStart.order);
          throw new TrainingInterrupted(`stopped during step ${step + 1} of ${config.rl.steps} while the rewards were scoring; the state before this step is saved in ${saved}; continue with: clp train --resume ${ctx.runDir}`);
        }
        if (err instanceof RewardError) {
          const saved = saveTrainingState(step, atStepStart.rng, atStepStart.order);
          throw new RewardError(
            `${err.message} (at RL step ${step + 1}; the state before this step is saved in ${saved}; fix the reward, then continue with: clp train --resume ${ctx.runDir})`,
            { rewardName: err.rewardName, sampleIndex: err.sampleIndex, summary: err.summary, value: err.value, cause: err },
          );
        }
        throw err;
      }
      const unscorable = raw.filter((r) => r === null).length;
      if (unscorable > 0) {
        ctx.warn(`RL step ${step + 1}: skipped ${unscorable} of ${rows.length} samples that a reward failed on (advantage 0). First error: ${rewardErrors[0]!.message}`);
      }
      const normalized = raw.map((r) => (r === null ? null : normalizer.normalizeRow(r)));
      const scalarized = normalized.map((z, i) => (z === null ? null : z.reduce((a, zj, j) => a + rowWeights[i]![j]! * zj, 0)));

      const stats = tidy(() => {
        const packed = packBatch(prompts, generation.tokens, tokenizer.padId);
        const mix = policy.mixTensor(rowWeights);
        const scoring = { temperature: config.rl.temperature, train: false };
        const logp = completionLogProbs(model, packed, mix, scoring);
        const refLogp = torch.noGrad(() => completionLogProbs(reference, packed, null, scoring));
        const klPerSeq = torch.noGrad(() => klK1(logp.detach(), refLogp).sum(1)).toArray();
        const klK3PerSeq = torch.noGrad(() => klK3(logp.detach(), refLogp).sum(1)).toArray();
        const tokenCounts = packed.tokenMask.sum(1).toArray();
        const entropyEstimate = -logp.detach().sum().item() / tokenCounts.reduce((a, b) => a + b, 0);
        // The sampler's log-probabilities against the scored ones: both come from the same
        // weights, so they differ only by float32 rounding between incremental and full forwards.
        const scored = logp.detach().toArray();
        const width = packed.completionLength;
        let samplerGap = 0;
        generation.logProbs.forEach((row, b) => row.forEach((lp, t) => (samplerGap = Math.max(samplerGap, Math.abs(lp - scored[b * width + t]!)))));
        const total = scalarized.map((r, i) => (r === null ? null : r - rowSteering[i]!.kl * klPerSeq[i]!));
        const groups = Array.from({ length: P }, (_, p) => total.slice(p * k, p * k + k));
        const advantages = leaveOneOutAdvantages(groups).flat();
        const flatGroups = groups.filter(isFlatGroup).length;
        const scoredCount = total.filter((r) => r !== null).length;
        // Without a scored sample there is nothing to learn from: no loss, no update.
        if (scoredCount === 0) return { loss: null, klPerSeq, klK3PerSeq, tokenCounts, entropyEstimate, samplerGap, flatGroups };
        const loss = policyGradientLoss(logp, advantages, scoredCount);
        loss.backward();
        return { loss: loss.item(), klPerSeq, klK3PerSeq, tokenCounts, entropyEstimate, samplerGap, flatGroups };
      });
      const gradNorm = stats.loss === null ? null : torch.clipGradNorm(trainableTensors, config.rl.gradClip);
      const skipReason = stats.loss === null ? "unscorable" : !Number.isFinite(stats.loss) || !Number.isFinite(gradNorm) ? "non-finite" : null;
      const skipped = skipReason !== null;
      if (!skipped) optimizer.step();
      optimizer.zeroGrad();
      policy.metadata.step = step + 1;
      consecutiveSkips = skipped ? consecutiveSkips + 1 : 0;
      if (!skipped) beforeSkips = null;
      else if (beforeSkips === null) beforeSkips = { step, ...atStepStart };

      const record: Record<string, unknown> = {
        step: step + 1,
        loss: stats.loss,
        rewards: Object.fromEntries(config.objectives.map((name, j) => [name, mean(scorable(raw).map((r) => r[j]!))])),
        normalizedRewards: Object.fromEntries(config.objectives.map((name, j) => [name, mean(scorable(normalized).map((r) => r[j]!))])),
        scalarizedReward: mean(scorable(scalarized)),
        unscorableSamples: unscorable,
        flatGroups: stats.flatGroups,
        kl: mean(stats.klPerSeq),
        klK3: mean(stats.klK3PerSeq),
        klCoef: mean(steering.map((s) => s.kl)),
        entropy: stats.entropyEstimate,
        samplerLogProbGap: stats.samplerGap,
        completionTokens: mean(stats.tokenCounts),
        summaryWords: mean(summaries.map((s) => (s.match(/\S+/g) ?? []).length)),
        gradNorm,
        skippedUpdate: skipped,
        skipReason,
        rolloutSeconds,
        stepSeconds: (Date.now() - stepStart) / 1000,
        elapsedSeconds: (Date.now() - started) / 1000,
      };
      metrics.write(record);
      bar.update(step + 1, `R ${mean(scorable(scalarized)).toFixed(2)} kl ${mean(stats.klPerSeq).toFixed(2)} len ${mean(stats.tokenCounts).toFixed(1)}`);
      if (beforeSkips !== null && consecutiveSkips >= config.rl.maxSkippedUpdates) {
        policy.metadata.step = beforeSkips.step;
        const saved = saveTrainingState(beforeSkips.step, beforeSkips.rng, beforeSkips.order, false);
        const why = skipReason === "unscorable"
          ? `a reward failed on every sample (first error: ${rewardErrors[0]?.message ?? "none recorded"})`
          : `the loss (${stats.loss}) or the gradient norm (${gradNorm}) was not finite`;
        throw new SkippedUpdatesError(
          `RL step ${step + 1}: ${consecutiveSkips} consecutive updates were skipped; in the last one ${why}. ` +
            `The state after the last applied update (step ${beforeSkips.step}) is saved in ${saved}. ` +
            `Check π_ref, the rewards and rl.lr, then continue with: clp train --resume ${ctx.runDir}`,
          step + 1,
          beforeSkips.step,
          saved,
        );
      }
      if ((step + 1) % config.rl.checkpointEvery === 0 && step + 1 < config.rl.steps) {
        saveTrainingState(step + 1, { data: dataRng.getState(), weights: weightRng.getState() }, [...order]);
      }
    }
    // A resumed run that had finished all its steps has this checkpoint already.
    if (firstStep < config.rl.steps || resumed === null) saveTrainingState(config.rl.steps, { data: dataRng.getState(), weights: weightRng.getState() }, [...order]);
    setTraining(false);
    policy.save(checkpointDir, { runDir: ctx.runDir, config });
  } catch (err) {
    optimizer.dispose();
    setTraining(false);
    policy.dispose();
    throw err;
  }
  optimizer.dispose();
  setTraining(false);
  ctx.log(`${label}: ${config.rl.steps} steps in ${Math.round((Date.now() - started) / 1000)} s; checkpoint in ${checkpointDir}`);
  return policy;
}
