import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { conditionedParameters } from "../src/clp/conditioning.js";
import { ClpConfigError, resolveConfig, type ClpConfig } from "../src/clp/config.js";
import { ClpPolicy } from "../src/clp/policy.js";
import { defaultTaskPaths, loadSplit } from "../src/data/dataset.js";
import { evaluatePolicy } from "../src/eval/evaluate.js";
import { saveModelFolder } from "../src/model/checkpoint.js";
import type { GptConfig } from "../src/model/config.js";
import { generate } from "../src/model/generate.js";
import { Gpt } from "../src/model/gpt.js";
import { getReward, registerReward, RewardError, scoreRewardPerSample, type RewardFunction, type RewardInput } from "../src/rewards/index.js";
import { isFlatGroup, leaveOneOutAdvantages } from "../src/rl/advantages.js";
import { clpSpec, trainPolicy, type PolicySpec } from "../src/rl/clp-trainer.js";
import { SkippedUpdatesError } from "../src/rl/errors.js";
import { klK1, klK2, klK3 } from "../src/rl/kl.js";
import { policyGradientLoss } from "../src/rl/loss.js";
import { prepareRun, type RunContext } from "../src/rl/run-context.js";
import { completionLogProbs, packBatch } from "../src/rl/sequences.js";
import { Tokenizer } from "../src/tokenizer/bpe.js";
import { Rng } from "../src/util/rng.js";

// Invariants of the RL loop, each on tiny inputs with the real engine. Trainer runs use a tiny
// random GPT with the committed tokenizer as π_ref and take one to five steps.

const { tidy } = torch;
const tiny: GptConfig = { vocabSize: 61, contextLength: 48, dModel: 32, nLayers: 2, nHeads: 4, dMlp: 64, dropout: 0, layerNormEps: 1e-5 };
const tokenizer = Tokenizer.load("models/ref/tokenizer.json");
const examples = loadSplit(defaultTaskPaths().validation, { limit: 8 });
const root = mkdtempSync(join(tmpdir(), "clp-rl-invariants-"));
after(() => rmSync(root, { recursive: true, force: true }));

function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((worst, x, i) => Math.max(worst, Math.abs(x - b[i]!)), 0);
}

/** Returns the smallest value; Math.min(...xs) overflows the call stack for long arrays. */
function minimum(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.min(a, b), Infinity);
}

function maxAbs(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
}

function meanAndStandardError(xs: readonly number[]): { mean: number; sd: number; se: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, sd: Math.sqrt(variance), se: Math.sqrt(variance / xs.length) };
}

/**
 * Adds a fixed logit to the listed tokens: hidden unit 0 after the final LayerNorm is pinned at 1,
 * and column 0 of the output layer contains the biases (0 for every other token).
 */
function biasTokens(model: Gpt, biases: ReadonlyMap<number, number>): void {
  torch.noGrad(() =>
    tidy(() => {
      model.params.get("ln_f.weight")!.narrow(0, 0, 1).fill_(0);
      model.params.get("ln_f.bias")!.narrow(0, 0, 1).fill_(1);
      const head = model.params.get("lm_head.weight")!;
      head.narrow(1, 0, 1).fill_(0);
      for (const [id, bias] of biases) head.narrow(0, id, 1).narrow(1, 0, 1).fill_(bias);
    }),
  );
}

/** Saves a tiny random GPT with the committed tokenizer as a model folder standing in for π_ref. */
function tinyReference(name: string, options: { dropout?: number; biases?: Map<number, number> } = {}): string {
  const dir = join(root, `${name}-reference`);
  const model = Gpt.init({ ...tiny, vocabSize: tokenizer.vocabSize, contextLength: 96, dropout: options.dropout ?? 0 }, 17);
  if (options.biases) biasTokens(model, options.biases);
  saveModelFolder(dir, model, tokenizer);
  model.dispose();
  return dir;
}

const defaultReference = tinyReference("plain");

function runConfig(overrides: { reference?: string; objectives?: string[]; rl?: Record<string, unknown>; conditioning?: Record<string, unknown> } = {}): ClpConfig {
  return resolveConfig(
    {
      reference: overrides.reference ?? defaultReference,
      objectives: overrides.objectives ?? ["test-length", "brevity"],
      data: { maxSourceTokens: 32 },
      calibration: { prompts: 4, samplesPerPrompt: 2 },
      rl: { steps: 1, promptsPerStep: 2, samplesPerPrompt: 3, maxNewTokens: 8, checkpointEvery: 1000, ...overrides.rl },
      conditioning: overrides.conditioning,
      seed: 5,
    },
    "rl-invariants",
  );
}

/** Calibrates a run in root/`name` (or reopens it); the caller trains and disposes ctx.reference. */
function startRun(name: string, config: ClpConfig, resume = false): Promise<RunContext> {
  return prepareRun(config, join(root, name), { quiet: true, trainExamples: examples, resume });
}

async function train(ctx: RunContext, spec: PolicySpec = clpSpec(ctx)): Promise<void> {
  (await trainPolicy(ctx, spec, ctx.runDir)).dispose();
}

type MetricsRecord = Record<string, unknown> & { step: number; loss: number | null; kl: number | null; klK3: number | null; rewards: Record<string, number | null> };

function readMetrics(runDir: string): MetricsRecord[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as MetricsRecord);
}

function lengthScore(summary: string): number {
  return summary.length / (summary.length + 20);
}

function testReward(name: string, score: (input: RewardInput) => number, extra: Partial<RewardFunction> = {}): void {
  registerReward({ name, description: `test reward ${name}`, range: [0, 1], higherIsBetter: true, score, ...extra }, { replace: true });
}

testReward("test-length", ({ summary }) => lengthScore(summary));

// ---- KL estimators ------------------------------------------------------------------------

test("KL estimators converge to KL(π‖π_ref)", () => {
  const n = 200_000;
  const pi = [0.5, 0.5];
  const piRef = [0.9, 0.1];
  torch.manualSeed(11);
  const [k1, k2, k3] = tidy(() => {
    const tokens = torch.multinomial(torch.tensor(pi), n, true);
    const logp = torch.tensor(pi).log().indexSelect(0, tokens).reshape(1, n);
    const refLogp = torch.tensor(piRef).log().indexSelect(0, tokens).reshape(1, n);
    return [klK1(logp, refLogp).toArray(), klK2(logp, refLogp).toArray(), klK3(logp, refLogp).toArray()];
  });
  const kl = pi[0]! * Math.log(pi[0]! / piRef[0]!) + pi[1]! * Math.log(pi[1]! / piRef[1]!);
  const k2Mean = 0.5 * (pi[0]! * Math.log(pi[0]! / piRef[0]!) ** 2 + pi[1]! * Math.log(pi[1]! / piRef[1]!) ** 2);
  assert.equal(kl.toFixed(4), "0.5108");
  assert.equal(k2Mean.toFixed(4), "0.7339");
  const s1 = meanAndStandardError(k1);
  const s2 = meanAndStandardError(k2);
  const s3 = meanAndStandardError(k3);
  // Four standard errors: a correct estimator fails this with probability below 1e-4.
  assert.ok(Math.abs(s1.mean - kl) < 4 * s1.se, `k1 mean ${s1.mean} ± ${s1.se}, KL ${kl}`);
  assert.ok(Math.abs(s3.mean - kl) < 4 * s3.se, `k3 mean ${s3.mean} ± ${s3.se}, KL ${kl}`);
  assert.ok(Math.abs(s2.mean - k2Mean) < 4 * s2.se, `k2 mean ${s2.mean} ± ${s2.se}, expected ${k2Mean}`);
  assert.ok(Math.abs(s2.mean - kl) > 20 * s2.se, `k2 is biased: mean ${s2.mean} vs KL ${kl}`);
  assert.ok(s3.sd < s1.sd, `k3 sd ${s3.sd} vs k1 sd ${s1.sd}`);
  assert.ok(minimum(k1) < 0, "k1 takes negative values");
  assert.ok(minimum(k2) >= 0, "k2 is never negative");
  assert.ok(minimum(k3) >= 0, "k3 is never negative");
});

test("k3 stays non-negative for near-equal log-probabilities", () => {
  torch.manualSeed(12);
  const k3 = tidy(() => {
    const logp = torch.rand([4, 10000]).mul(-8);
    const refLogp = logp.add(torch.randn([4, 10000]).mul(1e-4));
    return klK3(logp, refLogp).toArray();
  });
  assert.ok(minimum(k3) >= 0, `min k3 ${minimum(k3)}`);
  const masked = tidy(() => klK3(torch.zeros([2, 3]), torch.zeros([2, 3])).toArray());
  assert.deepEqual(masked, [0, 0, 0, 0, 0, 0]);
});

// ---- Sampling temperature -----------------------------------------------------------------

test("sampled log-probabilities are tempered", () => {
  const model = Gpt.init(tiny, 21);
  // Sharpens the logits (std about 3 nats), so a wrong temperature shows.
  torch.noGrad(() => model.params.get("lm_head.weight")!.mul_(30));
  const prompts = [[5, 9, 2, 7], [3], [8, 8, 12]];
  const temperature = 0.7;
  const sampling = { maxNewTokens: 6, temperature, eosId: 0, padId: 1, seeds: [1, 2, 3] };
  const generation = generate(model, prompts, null, sampling);
  prompts.forEach((prompt, b) => {
    const ids = [...prompt, ...generation.tokens[b]!];
    const direct = tidy(() => {
      const input = torch.int64Tensor(ids, [1, ids.length]);
      const positions = torch.arange(0, ids.length).reshape(1, ids.length);
      const logProbs = torch.noGrad(() => model.forward(input, { positions }).div(temperature).logSoftmax(-1));
      return generation.tokens[b]!.map((token, t) => logProbs.select(1, prompt.length - 1 + t).select(1, token).item());
    });
    const gap = maxDiff(generation.logProbs[b]!, direct);
    assert.ok(gap < 1e-5, `row ${b}: sampled vs log_softmax(logits / T): ${gap}`);
  });
  // Before any update, the ratio exp(scored − sampled) is 1 up to float32 rounding.
  const ratioGap = (scoringTemperature: number) =>
    tidy(() => {
      const packed = packBatch(prompts, generation.tokens, sampling.padId);
      const scored = torch.noGrad(() => completionLogProbs(model, packed, null, { temperature: scoringTemperature })).toArray();
      let worst = 0;
      generation.logProbs.forEach((row, b) => row.forEach((lp, t) => (worst = Math.max(worst, Math.abs(Math.exp(scored[b * packed.completionLength + t]! - lp) - 1)))));
      return worst;
    });
  const tempered = ratioGap(temperature);
  assert.ok(tempered < 1e-5, `ratio gap at the sampling temperature: ${tempered}`);
  const untempered = ratioGap(1);
  assert.ok(untempered > 1e-2, `scoring at T = 1 must not match samples drawn at T = ${temperature}: ${untempered}`);
  model.dispose();
});

// ---- Dropout ------------------------------------------------------------------------------

test("dropout is off in rollouts and scoring", async () => {
  const reference = tinyReference("dropout", { dropout: 0.1 });
  const ctx = await startRun("dropout", runConfig({ reference }));
  assert.equal(ctx.reference.config.dropout, 0.1);
  // With train: true the same batch scores differently, so dropout 0.1 is active in training mode.
  const { trained, evaluated } = tidy(() => {
    const packed = packBatch([[5, 6, 7], [8, 9]], [[10, 11, 0], [12, 0]], tokenizer.padId);
    torch.manualSeed(3);
    return {
      trained: torch.noGrad(() => completionLogProbs(ctx.reference, packed, null, { train: true })).toArray(),
      evaluated: torch.noGrad(() => completionLogProbs(ctx.reference, packed, null, { train: false })).toArray(),
    };
  });
  assert.ok(maxDiff(trained, evaluated) > 1e-4, "dropout changes log-probabilities in training mode");
  await train(ctx);
  const [first] = readMetrics(ctx.runDir);
  assert.equal(first!.kl, 0);
  assert.equal(first!.klK3, 0);
  assert.ok((first!.samplerLogProbGap as number) < 1e-4, `sampler gap ${first!.samplerLogProbGap}`);
  ctx.reference.dispose();
});

// ---- Unscorable samples -------------------------------------------------------------------

/** Failure plan of "test-faulty": once armed, its n-th score call fails as planned, else returns 1. */
const faulty = { armed: false, calls: 0, plan: new Map<number, "throw" | "nan" | "infinity">() };
testReward("test-faulty", ({ summary }) => {
  if (!faulty.armed) return lengthScore(summary);
  const failure = faulty.plan.get(faulty.calls++);
  if (failure === "throw") throw new Error("scorer unavailable");
  if (failure === "nan") return Number.NaN;
  if (failure === "infinity") return Number.POSITIVE_INFINITY;
  return 1;
});

function armFaulty(plan: [number, "throw" | "nan" | "infinity"][]): void {
  faulty.armed = true;
  faulty.calls = 0;
  faulty.plan = new Map(plan);
}

test("per-sample scoring returns null for failing samples", () => {
  const inputs = ["a", "bb", "ccc", "dddd"].map((summary) => ({ source: "s", summary }));
  armFaulty([[1, "throw"], [3, "nan"]]);
  const { values, errors } = scoreRewardPerSample(getReward("test-faulty"), inputs);
  faulty.armed = false;
  assert.deepEqual(values, [1, null, 1, null]);
  assert.deepEqual(errors.map((e) => e.sampleIndex), [1, 3]);
  assert.match(errors[0]!.message, /reward "test-faulty" failed on sample 1 \(summary "bb"\): scorer unavailable/);
  assert.match(errors[1]!.message, /returned the non-finite value NaN for sample 3/);
  // A batch scorer that throws is retried per sample; returning the wrong count fails the batch.
  const batchThrows: RewardFunction = {
    name: "test-batch",
    description: "fails in scoreBatch",
    range: [0, 1],
    higherIsBetter: true,
    score: ({ summary }) => (summary === "ccc" ? 2 : 0.5),
    scoreBatch: () => {
      throw new Error("batch failed");
    },
  };
  const retried = scoreRewardPerSample(batchThrows, inputs);
  assert.deepEqual(retried.values, [0.5, 0.5, null, 0.5]);
  assert.match(retried.errors[0]!.message, /returned 2, outside its declared range \[0, 1\] for sample 2/);
  const shortBatch = { ...batchThrows, scoreBatch: () => [0.5] };
  assert.throws(() => scoreRewardPerSample(shortBatch, inputs), /scoreBatch returned 1 values for 4 samples/);
});

test("unscorable samples are skipped with onRewardError skip", async () => {
  faulty.armed = false;
  const ctx = await startRun("skip", runConfig({ objectives: ["test-faulty", "test-length"], rl: { onRewardError: "skip" } }));
  // Rows 0–2 are the first prompt's group and rows 3–5 the second's, which keeps one scorable sample.
  armFaulty([[1, "throw"], [3, "nan"], [4, "infinity"]]);
  await train(ctx);
  faulty.armed = false;
  const [record] = readMetrics(ctx.runDir);
  assert.equal(record!.unscorableSamples, 3);
  assert.equal(record!.rewards["test-faulty"], 1, "unscorable samples are not counted as 0");
  assert.ok((record!.flatGroups as number) >= 1, `flat groups ${record!.flatGroups}`);
  assert.ok(Number.isFinite(record!.loss), `loss ${record!.loss}`);
  assert.equal(record!.skippedUpdate, false);
  ctx.reference.dispose();
});

test("a step with no scorable sample makes no update", async () => {
  faulty.armed = false;
  const ctx = await startRun("skip-all", runConfig({ objectives: ["test-faulty", "test-length"], rl: { onRewardError: "skip", steps: 2, maxSkippedUpdates: 2 } }));
  armFaulty(Array.from({ length: 12 }, (_, i) => [i, "throw"] as [number, "throw"]));
  const error = await train(ctx).then(() => null, (err: unknown) => err);
  faulty.armed = false;
  assert.ok(error instanceof SkippedUpdatesError, `expected SkippedUpdatesError, got ${String(error)}`);
  assert.match(error.message, /^RL step 2: 2 consecutive updates were skipped; in the last one a reward failed on every sample \(first error: reward "test-faulty" failed on sample 0/);
  const records = readMetrics(ctx.runDir);
  assert.deepEqual(records.map((r) => [r.skippedUpdate, r.skipReason, r.loss]), [[true, "unscorable", null], [true, "unscorable", null]]);
  // No update was made: the saved policy is π_ref, its deltas all zero.
  const saved = ClpPolicy.load(join(ctx.runDir, "checkpoints", "step-000000", "policy"));
  for (const [name, tensor] of saved.model.params) if (name.endsWith(".delta")) assert.equal(maxAbs(tensor.toArray()), 0, name);
  saved.dispose();
  ctx.reference.dispose();
});

test("reward failure stops with onRewardError stop", async () => {
  faulty.armed = false;
  const ctx = await startRun("stop", runConfig({ objectives: ["test-faulty", "test-length"] }));
  assert.equal(ctx.config.rl.onRewardError, "stop");
  armFaulty([[4, "nan"]]);
  const saved = join(ctx.runDir, "checkpoints", "step-000000");
  await assert.rejects(
    () => train(ctx),
    (err: unknown) =>
      err instanceof RewardError &&
      err.rewardName === "test-faulty" &&
      err.sampleIndex === 4 &&
      err.message.includes(`returned the non-finite value NaN for sample 4`) &&
      err.message.includes(`(at RL step 1; the state before this step is saved in ${saved};`),
  );
  faulty.armed = false;
  const policy = ClpPolicy.load(join(saved, "policy"));
  assert.equal(policy.metadata.step, 0);
  policy.dispose();
  ctx.reference.dispose();
});

test("config accepts onRewardError stop or skip only", () => {
  assert.equal(resolveConfig({}, "x.json").rl.onRewardError, "stop");
  assert.equal(resolveConfig({ rl: { onRewardError: "skip" } }, "x.json").rl.onRewardError, "skip");
  assert.throws(
    () => resolveConfig({ rl: { onRewardError: "ignore" } }, "x.json"),
    (e: unknown) => e instanceof ClpConfigError && e.message === `x.json: field "rl.onRewardError" is "ignore"; available: stop, skip`,
  );
  assert.throws(() => resolveConfig({ rl: { onRewardError: false } }, "x.json"), /field "rl\.onRewardError" must be a string, got false/);
});

// ---- Advantages ---------------------------------------------------------------------------

test("flat groups get exact zero advantages", () => {
  // 0.1 − (0.1 + 0.1 + 0.1 − 0.1) / 2 is −1.4e-17 in doubles; a flat group must give exact zeros.
  assert.deepEqual(leaveOneOutAdvantages([[0.1, 0.1, 0.1], [0.1, null, 0.1]]), [[0, 0, 0], [0, 0, 0]]);
  assert.equal(isFlatGroup([0.1, 0.1, 0.1]), true);
  assert.equal(isFlatGroup([1, null, null]), true);
  assert.equal(isFlatGroup([1, 2, null]), false);
  assert.equal(isFlatGroup([Number.NaN, Number.NaN]), false);
});

test("group size 1 is rejected", () => {
  assert.throws(() => leaveOneOutAdvantages([[1, 2], [3]]), (e: unknown) => e instanceof RangeError && e.message === "leave-one-out needs at least 2 samples per group, got 1");
  assert.throws(
    () => resolveConfig({ rl: { samplesPerPrompt: 1 } }, "x.json"),
    (e: unknown) =>
      e instanceof ClpConfigError &&
      e.message === `x.json: field "rl.samplesPerPrompt" is 1; it must be an integer ≥ 2, because the leave-one-out baseline needs another sample of the same prompt`,
  );
});

// Rewards that read only the source: every sample of a prompt scores the same.
testReward("test-source-chars", ({ source }) => (source.length % 97) / 96);
testReward("test-source-words", ({ source }) => (source.split(/\s+/).length % 13) / 12);

test("trainer counts flat groups", async () => {
  const ctx = await startRun("flat", runConfig({ objectives: ["test-source-chars", "test-source-words"] }));
  await train(ctx);
  const [record] = readMetrics(ctx.runDir);
  // At step 1 the KL of every sample is 0, so each group's totals are equal.
  assert.equal(record!.kl, 0);
  assert.equal(record!.flatGroups, 2);
  assert.equal(record!.loss, 0);
  assert.equal(record!.gradNorm, 0);
  assert.equal(record!.skippedUpdate, false);
  ctx.reference.dispose();
});

// ---- Non-finite loss or gradients ---------------------------------------------------------

/**
 * Fault injection for the non-finite test. "test-clock" is scored in one scoreBatch call per RL
 * step (call 0 is calibration). At the listed steps it sets a bias of π_ref's final LayerNorm to
 * NaN, and restores it at the others. π_ref only scores the KL penalty, so the loss and the
 * gradients of those steps are NaN while the policy's own parameters stay finite.
 */
const clock = { calls: 0, faultySteps: new Set<number>(), reference: null as Gpt | null, original: null as torch.Tensor | null };
testReward("test-clock", ({ summary }) => lengthScore(summary), {
  scoreBatch: (inputs) => {
    const step = clock.calls++;
    const bias = clock.reference?.params.get("ln_f.bias");
    if (bias !== undefined && clock.original !== null) {
      torch.noGrad(() => (clock.faultySteps.has(step) ? bias.fill_(Number.NaN) : bias.copy_(clock.original!)));
    }
    return inputs.map(({ summary }) => lengthScore(summary));
  },
});

/** Trains with π_ref corrupted at `faultySteps`; returns the run's context and the training error. */
async function runWithFaults(name: string, steps: number, faultySteps: number[], resume = false): Promise<{ ctx: RunContext; error: unknown }> {
  clock.calls = 0;
  clock.faultySteps = new Set(faultySteps);
  clock.reference = null;
  const config = runConfig({ objectives: ["test-clock", "test-length"], rl: { steps, maxSkippedUpdates: 2, lr: 1e-2 } });
  const ctx = await startRun(name, config, resume);
  clock.reference = ctx.reference;
  clock.original = torch.keep(ctx.reference.params.get("ln_f.bias")!.clone());
  let error: unknown = null;
  try {
    await train(ctx);
  } catch (err) {
    error = err;
  }
  clock.original.dispose();
  clock.original = null;
  clock.reference = null;
  return { ctx, error };
}

test("non-finite updates are skipped, then training stops", async () => {
  const stopped = await runWithFaults("nonfinite", 5, [2, 4, 5]);
  const saved = join(stopped.ctx.runDir, "checkpoints", "step-000003");
  const error = stopped.error;
  assert.ok(error instanceof SkippedUpdatesError, `expected SkippedUpdatesError, got ${String(error)}`);
  assert.equal(error.step, 5);
  assert.equal(error.lastUpdatedStep, 3);
  assert.equal(error.checkpointDir, saved);
  assert.match(error.message, /^RL step 5: 2 consecutive updates were skipped; in the last one the loss \(NaN\) or the gradient norm \(NaN\) was not finite\./);
  assert.ok(error.message.includes(`The state after the last applied update (step 3) is saved in ${saved}.`));
  const records = readMetrics(stopped.ctx.runDir);
  assert.deepEqual(records.map((r) => r.skippedUpdate), [false, true, false, true, true]);
  assert.deepEqual(records.map((r) => r.loss === null), [false, true, false, true, true]);
  stopped.ctx.reference.dispose();

  // The saved parameters are those after step 3: a run of 3 steps with the same fault ends there.
  const straight = await runWithFaults("nonfinite-3-steps", 3, [2]);
  assert.equal(straight.error, null);
  const a = ClpPolicy.load(join(saved, "policy"));
  const b = ClpPolicy.load(join(straight.ctx.runDir, "checkpoint"));
  assert.equal(a.metadata.step, 3);
  let moved = 0;
  for (const [name, tensor] of a.model.params) {
    const values = tensor.toArray();
    assert.ok(values.every(Number.isFinite), `${name} is finite`);
    assert.deepEqual(values, b.model.params.get(name)!.toArray(), name);
    if (name.endsWith(".delta")) moved = Math.max(moved, maxAbs(values));
  }
  assert.ok(moved > 0, "the updates of steps 1 and 3 are in the checkpoint");
  a.dispose();
  b.dispose();
  straight.ctx.reference.dispose();

  // Without the fault, the stopped run resumes after step 3 and finishes.
  const resumed = await runWithFaults("nonfinite", 5, [], true);
  assert.equal(resumed.error, null);
  assert.deepEqual(readMetrics(resumed.ctx.runDir).map((r) => r.skippedUpdate), [false, true, false, false, false]);
  resumed.ctx.reference.dispose();
});

test("consecutive skipped updates count across a resume", async () => {
  // Step 3 skips and the run ends. Resumed for 2 more steps, step 4 skips too, because the resumed
  // run does not calibrate again and its call 0 is step 4. That second skip in a row stops the run.
  const first = await runWithFaults("streak", 3, [3]);
  assert.equal(first.error, null);
  first.ctx.reference.dispose();
  const state = JSON.parse(readFileSync(join(first.ctx.runDir, "checkpoints", "step-000003", "state.json"), "utf8")) as { skipStreak: { count: number; since: { step: number } } };
  assert.equal(state.skipStreak.count, 1);
  assert.equal(state.skipStreak.since.step, 2);
  const resumed = await runWithFaults("streak", 5, [0], true);
  const error = resumed.error;
  assert.ok(error instanceof SkippedUpdatesError, `expected SkippedUpdatesError, got ${String(error)}`);
  assert.equal(error.step, 4);
  assert.equal(error.lastUpdatedStep, 2);
  resumed.ctx.reference.dispose();
});

test("config validates maxSkippedUpdates", () => {
  assert.equal(resolveConfig({}, "x.json").rl.maxSkippedUpdates, 3);
  assert.throws(() => resolveConfig({ rl: { maxSkippedUpdates: 0 } }, "x.json"), /x\.json: field "rl\.maxSkippedUpdates" is 0; it must be a positive integer/);
});

// ---- Padding and terminal tokens ----------------------------------------------------------

const prompts = [[5, 9, 2, 7], [3], [8, 8, 12, 30, 31, 40]];
const completions = [[11, 12, 0], [13, 14, 15, 16, 0], [17]];

/** Per-token log-probabilities of completions from a right-padded batch built by hand. */
function rightPaddedLogProbs(model: Gpt, padId: number): number[][] {
  const rows = prompts.map((p, b) => [...p, ...completions[b]!.slice(0, -1)]);
  const width = Math.max(...rows.map((r) => r.length));
  return tidy(() => {
    const ids = torch.int64Tensor(rows.flatMap((r) => [...r, ...new Array<number>(width - r.length).fill(padId)]), [rows.length, width]);
    const positions = torch.arange(0, width).reshape(1, width).expand(rows.length, width);
    const keyMask = torch.tensor(rows.map((r) => Array.from({ length: width }, (_, j) => (j < r.length ? 1 : 0))), "bool");
    const logProbs = torch.noGrad(() => model.forward(ids, { positions, keyMask }).logSoftmax(-1));
    return completions.map((c, b) => c.map((token, t) => logProbs.select(0, b).select(0, prompts[b]!.length - 1 + t).select(0, token).item()));
  });
}

test("left and right padding give equal log-probabilities", () => {
  const model = Gpt.init(tiny, 31);
  const padId = 1;
  const left = tidy(() => {
    const packed = packBatch(prompts, completions, padId);
    const logp = torch.noGrad(() => completionLogProbs(model, packed, null)).toArray();
    return completions.map((c, b) => c.map((_, t) => logp[b * packed.completionLength + t]!));
  });
  const right = rightPaddedLogProbs(model, padId);
  completions.forEach((_, b) => {
    const gap = maxDiff(left[b]!, right[b]!);
    assert.ok(gap < 1e-5, `row ${b}: left vs right padding ${gap}`);
  });
  model.dispose();
});

test("padding carries no weight and the last real token does", () => {
  const model = Gpt.init(tiny, 32);
  const perturbed = (padId: number) =>
    tidy(() => {
      const packed = packBatch(prompts, completions, padId);
      const logp = torch.noGrad(() => completionLogProbs(model, packed, null));
      return { logp: logp.toArray(), mask: packed.tokenMask.toArray(), width: packed.completionLength };
    });
  const a = perturbed(1);
  const b = perturbed(50);
  assert.deepEqual(a.logp, b.logp, "padding ids change no log-probability");
  completions.forEach((c, row) => {
    const mask = a.mask.slice(row * a.width, (row + 1) * a.width);
    assert.equal(mask.lastIndexOf(1), c.length - 1, `row ${row}: the last weighted token is the last real one`);
    for (let t = c.length; t < a.width; t++) assert.ok(a.logp[row * a.width + t] === 0, `row ${row} position ${t} is padding`);
    assert.ok(a.logp[row * a.width + c.length - 1]! < 0, `row ${row}: the last real token has a log-probability`);
  });
  model.dispose();
});

test("end of text counts when it shares the padding id", () => {
  const model = Gpt.init(tiny, 33);
  const shared = 0;
  biasTokens(model, new Map([[shared, 2]]));
  const generation = generate(model, prompts, null, { maxNewTokens: 12, temperature: 1, eosId: shared, padId: shared, seeds: [4, 5, 6] });
  assert.ok(generation.finished.some((f) => f), "some row ends with end of text");
  tidy(() => {
    const packed = packBatch(prompts, generation.tokens, shared);
    const logp = torch.noGrad(() => completionLogProbs(model, packed, null)).toArray();
    const mask = packed.tokenMask.toArray();
    generation.tokens.forEach((tokens, b) => {
      const row = mask.slice(b * packed.completionLength, (b + 1) * packed.completionLength);
      assert.equal(row.reduce((x, y) => x + y, 0), tokens.length, `row ${b}: every sampled token is weighted`);
      const last = b * packed.completionLength + tokens.length - 1;
      assert.ok(Math.abs(logp[last]! - generation.logProbs[b]![tokens.length - 1]!) < 1e-5, `row ${b}: final token scored as sampled`);
    });
  });
  model.dispose();
});

// ---- Gradient accumulation ----------------------------------------------------------------

test("accumulated gradients equal the full batch", () => {
  const base = Gpt.init(tiny, 41);
  const model = base.withDeltas(conditionedParameters(base.config, "attn"), 2, 1);
  base.dispose();
  torch.manualSeed(42);
  torch.noGrad(() => {
    for (const [name, t] of model.params) if (name.endsWith(".delta")) tidy(() => t.add_(torch.randn(t.shape).mul(0.05)));
  });
  const rng = new Rng(43);
  const batchPrompts = Array.from({ length: 8 }, (_, b) => Array.from({ length: 1 + b }, () => 2 + rng.int(59)));
  const batchCompletions = Array.from({ length: 8 }, (_, b) => Array.from({ length: 1 + ((b * 3) % 7) }, () => 2 + rng.int(59)));
  const advantages = [0.5, -1, 2, 0.1, -0.3, 1.5, -2, 0.7];
  const weights = [[1, 0], [0.3, 0.7], [0, 1], [0.5, 0.5], [0.9, 0.1], [0, 1], [1, 0], [0.2, 0.8]];
  const names = model.trainableNames(true);
  const tensors = names.map((n) => model.params.get(n)!);
  for (const t of tensors) t.requiresGrad_(true);
  const gradients = () => tensors.map((t) => t.grad!.toArray());
  const zeroGradients = () => tensors.forEach((t) => t.grad?.zero_());

  tidy(() => {
    const packed = packBatch(batchPrompts, batchCompletions, 1);
    policyGradientLoss(completionLogProbs(model, packed, torch.tensor(weights)), advantages).backward();
  });
  const full = gradients();
  zeroGradients();
  // The loss is a mean over sequences, so each of 8 micro-batches of one sequence is divided by 8.
  for (let b = 0; b < 8; b++) {
    tidy(() => {
      const packed = packBatch([batchPrompts[b]!], [batchCompletions[b]!], 1);
      policyGradientLoss(completionLogProbs(model, packed, torch.tensor([weights[b]!])), [advantages[b]!]).div(8).backward();
    });
  }
  const accumulated = gradients();
  let largest = 0;
  names.forEach((name, j) => {
    const gap = maxDiff(full[j]!, accumulated[j]!);
    largest = Math.max(largest, maxAbs(full[j]!));
    assert.ok(gap < 1e-5, `${name}: 1×8 vs 8×1 gradient difference ${gap}`);
  });
  assert.ok(largest > 1e-3, `gradients are not trivially zero (largest ${largest})`);
  model.dispose();
});

test("unscorable sequences do not dilute the loss", () => {
  const base = Gpt.init(tiny, 44);
  const model = base.withDeltas(conditionedParameters(base.config, "attn"), 2, 1);
  base.dispose();
  const rng = new Rng(45);
  const prompts = Array.from({ length: 6 }, (_, b) => Array.from({ length: 2 + b }, () => 2 + rng.int(59)));
  const completions = Array.from({ length: 6 }, (_, b) => Array.from({ length: 1 + (b % 4) }, () => 2 + rng.int(59)));
  const weights = Array.from({ length: 6 }, (_, b) => [b / 5, 1 - b / 5]);
  // Rows 1 and 4 are unscorable: advantage 0, and the loss averages over the 4 scored rows.
  const advantages = [0.8, 0, -1.2, 0.4, 0, -0.5];
  const kept = [0, 2, 3, 5];
  const names = model.trainableNames(true);
  const tensors = names.map((n) => model.params.get(n)!);
  for (const t of tensors) t.requiresGrad_(true);
  const lossAndGradients = (rows: number[], divisor?: number) => {
    for (const t of tensors) t.grad?.zero_();
    const loss = tidy(() => {
      const packed = packBatch(rows.map((b) => prompts[b]!), rows.map((b) => completions[b]!), 1);
      const value = policyGradientLoss(completionLogProbs(model, packed, torch.tensor(rows.map((b) => weights[b]!))), rows.map((b) => advantages[b]!), divisor);
      value.backward();
      return value.item();
    });
    return { loss, gradients: tensors.map((t) => t.grad!.toArray()) };
  };
  const all = lossAndGradients([0, 1, 2, 3, 4, 5], kept.length);
  const scoredOnly = lossAndGradients(kept);
  assert.ok(Math.abs(all.loss - scoredOnly.loss) < 1e-6, `loss ${all.loss} vs ${scoredOnly.loss}`);
  names.forEach((name, j) => assert.ok(maxDiff(all.gradients[j]!, scoredOnly.gradients[j]!) < 1e-6, name));
  assert.throws(() => tidy(() => policyGradientLoss(torch.zeros([2, 3]), [0, 0], 0)), /0 scored sequences of 2; need 1 to 2/);
  model.dispose();
});

// ---- Rewards see decoded text -------------------------------------------------------------

const probe = { calls: 0 };
testReward("test-text-probe", (input) => {
  probe.calls++;
  for (const [field, text] of Object.entries(input)) {
    assert.equal(typeof text, "string", `${field} is a string`);
    for (const special of tokenizer.specialTokens) assert.ok(!(text as string).includes(special), `${field} contains ${special}: ${JSON.stringify(text)}`);
  }
  return lengthScore(input.summary);
});

test("rewards receive decoded text", async () => {
  // π_ref often samples padding and end of text, so a leak would reach the reward.
  const reference = tinyReference("probe", { biases: new Map([[tokenizer.eosId, 6], [tokenizer.padId, 8]]) });
  const ctx = await startRun("probe", runConfig({ reference, objectives: ["test-text-probe", "test-length"] }));
  const sample = generate(ctx.reference, [tokenizer.encode("A small test prompt\nTL;DR:")], null, {
    maxNewTokens: 8,
    eosId: tokenizer.eosId,
    padId: tokenizer.padId,
    seeds: [9],
  });
  assert.ok(sample.tokens[0]!.includes(tokenizer.padId), `sample ${sample.tokens[0]} contains the padding id`);
  assert.ok(tokenizer.decode([tokenizer.eosId, tokenizer.padId]).includes("<|pad|>"), "decode writes special tokens");
  probe.calls = 0;
  await train(ctx);
  assert.ok(probe.calls >= 6, `the probe scored ${probe.calls} samples`);
  ctx.reference.dispose();
});

// ---- Zero weight components ---------------------------------------------------------------

test("Dirichlet draws with tiny alpha stay on the simplex", () => {
  const rng = new Rng(7);
  let withZero = 0;
  for (let i = 0; i < 4000; i++) {
    const w = rng.dirichlet(2, 0.001);
    assert.ok(w.every((x) => Number.isFinite(x) && x >= 0), `draw ${i}: [${w}]`);
    assert.ok(Math.abs(w[0]! + w[1]! - 1) < 1e-12, `draw ${i}: [${w}] sums to ${w[0]! + w[1]!}`);
    if (w.includes(0)) withZero++;
  }
  assert.ok(withZero > 1000, `${withZero} of 4000 draws have an exact zero`);
});

test("training and evaluation at zero weight components", async () => {
  // At alpha 0.001 about 60% of draws for m = 2 have an exact zero, and sampling by dividing the
  // Gamma draws by their sum gave NaN weights in about 20%, so 16 draws fail that way almost surely.
  const ctx = await startRun("zeros", runConfig({ rl: { steps: 2, promptsPerStep: 8, samplesPerPrompt: 2, dirichletAlpha: 0.001 }, conditioning: { variant: "attn", prompt: true } }));
  const policy = await trainPolicy(ctx, clpSpec(ctx), ctx.runDir);
  for (const record of readMetrics(ctx.runDir)) assert.ok(Number.isFinite(record.loss), `step ${record.step}: loss ${record.loss}`);
  const settings = { prompts: 2, samplesPerPrompt: 1, maxNewTokens: 6, temperature: 1, seed: 3, maxSourceTokens: 32, batchSize: 2 };
  const result = await evaluatePolicy(policy, ctx.reference, examples.slice(0, 2), ctx.rewards, settings, { weights: [0, 1] });
  assert.ok(result.means.every(Number.isFinite), `means [${result.means}]`);
  assert.ok(Number.isFinite(result.kl), `KL ${result.kl}`);
  policy.dispose();
  // A single-weight policy trained at a vertex (fixedWeights with a zero).
  const expertDir = join(ctx.runDir, "expert");
  (await trainPolicy(ctx, { variant: "lora", prompt: false, klRange: null, fixedWeights: [0, 1], stream: 1 }, expertDir)).dispose();
  const [expertRecord] = readMetrics(expertDir);
  assert.ok(Number.isFinite(expertRecord!.loss), `expert loss ${expertRecord!.loss}`);
  ctx.reference.dispose();
});
