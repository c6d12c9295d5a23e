// Tests of scoring under a time limit. Rewards run in a worker thread, and a reward that hangs is
// stopped and named. Training then stops with a resumable checkpoint, or in "skip" mode leaves the
// hung sample out and goes on.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BUILTIN_REWARDS,
  importRewardModule,
  RewardError,
  RewardModuleError,
  RewardRegistry,
  RewardScorer,
  scoreAll,
  type RewardFunction,
  type RewardInput,
} from "../src/rewards/index.js";
import { listCheckpoints, verifyCheckpoint } from "../src/rl/training-state.js";

const root = mkdtempSync(join(tmpdir(), "clp-reward-timeout-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** Rewards that hang (an endless synchronous loop) on summaries containing "hang". */
const HANGING_MODULE = `
function spin() {
  for (;;) {}
}
const words = (summary) => summary.split(/\\s+/).filter((word) => word !== "").length;
export default [
  {
    name: "test-hang-score",
    description: "Word count over 10, capped at 1; never returns on a summary containing hang.",
    range: [0, 1],
    higherIsBetter: true,
    score({ summary }) {
      if (summary.includes("hang")) spin();
      return Math.min(1, words(summary) / 10);
    },
  },
  {
    name: "test-hang-batch",
    description: "Like test-hang-score, but its batch form never returns when any summary contains hang.",
    range: [0, 1],
    higherIsBetter: true,
    score({ summary }) {
      return Math.min(1, words(summary) / 10);
    },
    scoreBatch(inputs) {
      if (inputs.some(({ summary }) => summary.includes("hang"))) spin();
      return inputs.map(({ summary }) => Math.min(1, words(summary) / 10));
    },
  },
];
`;

/**
 * A reward that counts its calls in its thread and hangs on the ninth, so in a training run the
 * 8 calibration samples score and the first sample of RL step 1 hangs. A new worker counts anew.
 */
const TRAINING_MODULE = `
let calls = 0;
export default {
  name: "test-hang-late",
  description: "Summary length in characters over 100, capped at 1; hangs on its ninth call in a thread.",
  range: [0, 1],
  higherIsBetter: true,
  score({ summary }) {
    calls += 1;
    if (calls === 9) for (;;) {}
    return Math.min(1, summary.length / 100);
  },
};
`;

const hangingPath = join(root, "hanging.mjs");
writeFileSync(hangingPath, HANGING_MODULE);

async function hangingRewards(): Promise<{ registry: RewardRegistry; score: RewardFunction; batch: RewardFunction }> {
  const registry = new RewardRegistry();
  const [score, batch] = await registry.loadModule(hangingPath);
  return { registry, score: score!, batch: batch! };
}

const inputs: RewardInput[] = [
  { source: "a fast tool", summary: "fast tool for files" },
  { source: "a slow tool", summary: "it will hang here" },
  { source: "a third tool", summary: "third" },
];

test("worker scores equal main-thread scores", async () => {
  const registry = new RewardRegistry();
  const rewards = [...BUILTIN_REWARDS];
  const scorer = await RewardScorer.open(rewards, { timeoutSeconds: 30, registry });
  try {
    assert.equal(scorer.unlimitedReason, null);
    const many = Array.from({ length: 20 }, (_, i) => ({
      source: `tool number ${i} that converts images between formats and resizes them`,
      summary: ["image converter", "convert images", "", "tool"][i % 4]!,
      reference: "image conversion tool",
    }));
    assert.deepEqual(await scorer.scoreAll(many), scoreAll(rewards, many));
  } finally {
    await scorer.close();
  }
});

test("hung score call fails its sample", async () => {
  const { registry, score } = await hangingRewards();
  const scorer = await RewardScorer.open([score], { timeoutSeconds: 0.5, registry, raiseHint: "raise the limit" });
  try {
    const started = Date.now();
    await assert.rejects(scorer.scoreAll(inputs), (err: unknown) => {
      assert.ok(err instanceof RewardError);
      assert.equal(err.rewardName, "test-hang-score");
      assert.equal(err.sampleIndex, 1);
      assert.match(err.message, /reward "test-hang-score" did not return within 0\.5 s on sample 1 \(summary "it will hang here"\); raise the limit if it is only slow/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, "the hang is noticed soon after the limit");
    const skipped = await scorer.scorePerSample(inputs);
    assert.deepEqual(skipped.rows, [[0.4], null, [0.1]]);
    assert.equal(skipped.errors.length, 1);
    assert.equal(skipped.errors[0]!.sampleIndex, 1);
    // A fresh worker serves the next batch.
    assert.deepEqual(await scorer.scoreAll([inputs[0]!, inputs[2]!]), [[0.4], [0.1]]);
  } finally {
    await scorer.close();
  }
});

test("hung scoreBatch falls back to score", async () => {
  const { registry, batch } = await hangingRewards();
  const scorer = await RewardScorer.open([batch], { timeoutSeconds: 0.5, registry });
  try {
    await assert.rejects(scorer.scoreAll(inputs), /reward "test-hang-batch" did not return from scoreBatch on 3 samples within 0\.5 s/);
    // "skip" mode scores every sample with score, which does not hang.
    assert.deepEqual((await scorer.scorePerSample(inputs)).rows, [[0.4], [0.4], [0.1]]);
  } finally {
    await scorer.close();
  }
});

test("top-level await is bounded on import", async () => {
  const path = join(root, "never-loads.mjs");
  writeFileSync(path, `await new Promise(() => {});\nexport default {};\n`);
  const started = Date.now();
  await assert.rejects(importRewardModule(path, path, { timeoutSeconds: 0.5, raiseHint: "raise the limit" }), (err: unknown) => {
    assert.ok(err instanceof RewardModuleError, `expected a RewardModuleError, got ${String(err)}`);
    assert.equal(err.modulePath, path);
    assert.equal(err.message, `reward module ${path} did not finish loading within 0.5 s (a top-level await that never settles?); raise the limit if it is only slow`);
    return true;
  });
  assert.ok(Date.now() - started < 5000, "the import fails soon after the limit");
});

test("rewards registered in code run unlimited", async () => {
  const registry = new RewardRegistry();
  const inCode: RewardFunction = { name: "test-in-code", description: "Constant 1.", range: [0, 1], higherIsBetter: true, score: () => 1 };
  registry.register(inCode);
  const scorer = await RewardScorer.open([BUILTIN_REWARDS[0]!, inCode], { timeoutSeconds: 5, registry });
  assert.match(scorer.unlimitedReason ?? "", /reward "test-in-code" was registered in code.*export it from a module named in "rewardModules"/);
  assert.equal((await scorer.scoreAll(inputs)).length, 3);
  await assert.rejects(RewardScorer.open([inCode], { timeoutSeconds: -1, registry }), /reward time-out -1 s is invalid/);
});

function trainConfig(name: string, rl: Record<string, unknown>): string {
  const modulePath = join(root, "late.mjs");
  writeFileSync(modulePath, TRAINING_MODULE);
  const path = join(root, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      reference: "models/ref",
      objectives: ["test-hang-late", "brevity"],
      rewardModules: [modulePath],
      data: { maxSourceTokens: 32, trainLimit: 50 },
      calibration: { prompts: 4, samplesPerPrompt: 2 },
      rl: { steps: 2, promptsPerStep: 2, samplesPerPrompt: 2, maxNewTokens: 6, checkpointEvery: 1, rewardTimeoutSeconds: 1, ...rl },
      seed: 3,
    }),
  );
  return path;
}

test("hung reward stops training resumably", () => {
  const runDir = join(root, "stop-run");
  const result = spawnSync(process.execPath, ["bin/clp.js", "train", "--config", trainConfig("stop", {}), "--run-dir", runDir, "--no-eval", "--quiet"], { encoding: "utf8" });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /reward "test-hang-late" did not return within 1 s on sample 0 .*raise rl\.rewardTimeoutSeconds if it is only slow \(at RL step 1; the state before this step is saved in .*step-000000.*clp train --resume /);
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  const checkpoints = listCheckpoints(join(runDir, "checkpoints"));
  assert.deepEqual(checkpoints, ["step-000000"]);
  assert.equal(verifyCheckpoint(join(runDir, "checkpoints", checkpoints[0]!)), null);
});

test("skip mode leaves hung samples out", () => {
  const runDir = join(root, "skip-run");
  const result = spawnSync(process.execPath, ["bin/clp.js", "train", "--config", trainConfig("skip", { onRewardError: "skip" }), "--run-dir", runDir, "--no-eval"], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /RL step 1: skipped 1 of 4 samples that a reward failed on \(advantage 0\)\. First error: reward "test-hang-late" did not return within 1 s on sample 0/);
  const records = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { unscorableSamples: number; rewards: Record<string, number> });
  assert.equal(records.length, 2);
  assert.equal(records[0]!.unscorableSamples, 1);
  assert.ok(Number.isFinite(records[0]!.rewards["test-hang-late"]), "the mean is over the scored samples");
});

test("clp train bounds module loading", () => {
  const path = join(root, "train-never-loads.mjs");
  writeFileSync(path, `await new Promise(() => {});\nexport default {};\n`);
  const config = join(root, "never-loads.json");
  writeFileSync(config, JSON.stringify({ reference: "models/ref", objectives: ["coverage", "brevity"], rewardModules: [path], rl: { rewardTimeoutSeconds: 1 } }));
  const result = spawnSync(process.execPath, ["bin/clp.js", "train", "--config", config, "--run-dir", join(root, "never-loads-run")], { encoding: "utf8" });
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stderr, `clp: reward module ${path} did not finish loading within 1 s (a top-level await that never settles?); raise rl.rewardTimeoutSeconds if it is only slow\n`);
});

test("clp eval stops on a hung reward", () => {
  // The run trained in skip mode; its evaluation scores in a new worker, whose ninth call hangs:
  // the first sample at the second weight, after π_ref and the first weight on 4 prompts each.
  const runDir = join(root, "skip-run");
  const evaluate = () => spawnSync(process.execPath, ["bin/clp.js", "eval", "--run", runDir, "--prompts", "4", "--divisions", "1"], { encoding: "utf8" });
  const hung = evaluate();
  assert.equal(hung.status, 1, hung.stderr);
  assert.match(hung.stderr, /reward "test-hang-late" did not return within 1 s on sample 0 .*raise rl\.rewardTimeoutSeconds if it is only slow/);
  assert.doesNotMatch(hung.stderr, /\n\s+at /, "no stack trace");
  // Run again, the finished points come from the cache and the new worker's calls stay below nine.
  const again = evaluate();
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /\(2 read from .*eval-cache\)/);
});
