import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../src/clp/config.js";
import { ClpPolicy } from "../src/clp/policy.js";
import { summarize } from "../src/clp/steerable.js";
import { defaultTaskPaths, loadSplit } from "../src/data/dataset.js";
import { evaluatePolicy } from "../src/eval/evaluate.js";
import { getReward, registerReward, RewardError } from "../src/rewards/index.js";
import { registerVerbosity } from "./support/verbosity.js";
import { trainRun } from "../src/rl/methods.js";
import * as torch from "../src/torch/index.js";
import { makeTempDir } from "./support/temp-dir.js";

// A short run of attn-CLP from the committed reference policy on a slice of the real data. The
// test pairs brevity with its mirror image, and weights near the vertices (Dirichlet 0.3), so 16
// steps are enough to separate the vertices. The default task's coverage needs the longer main
// run to move.
registerVerbosity();

const base = {
  reference: "models/ref",
  objectives: ["verbosity", "brevity"],
  data: { maxSourceTokens: 64, trainLimit: 2000 },
  calibration: { prompts: 16, samplesPerPrompt: 2 },
  rl: { steps: 16, promptsPerStep: 8, samplesPerPrompt: 2, lr: 5e-4, klCoef: 0.02, maxNewTokens: 12, dirichletAlpha: 0.3, checkpointEvery: 1000 },
  seed: 5,
};

test("short CLP run steers both rewards", async () => {
  const runDir = makeTempDir("clp-e2e-");
  const config = resolveConfig(base, "e2e");
  const result = await trainRun(config, runDir, { quiet: true });
  const examples = loadSplit(defaultTaskPaths().validation, { limit: 48 });
  const rewards = config.objectives.map((name) => getReward(name));
  const settings = { prompts: 48, samplesPerPrompt: 1, maxNewTokens: 12, temperature: 1, seed: 3, maxSourceTokens: 64, batchSize: 48 };
  const at = (w: number[]) => evaluatePolicy(result.policy, result.reference, examples, rewards, settings, { weights: w });
  const verbosityVertex = await at([1, 0]);
  const brevityVertex = await at([0, 1]);
  assert.ok(verbosityVertex.means[0]! > brevityVertex.means[0]!, `verbosity: ${verbosityVertex.means[0]} at e1 vs ${brevityVertex.means[0]} at e2`);
  assert.ok(brevityVertex.means[1]! > verbosityVertex.means[1]!, `brevity: ${brevityVertex.means[1]} at e2 vs ${verbosityVertex.means[1]} at e1`);

  // The saved checkpoint loads and is steerable from outside the training process.
  const loaded = ClpPolicy.load(join(runDir, "checkpoint"), { objectives: config.objectives, variant: "attn" });
  assert.equal(loaded.metadata.step, 16);
  const description = examples[0]!.description;
  const sampling = { maxNewTokens: 12, seed: 1, greedy: true };
  const short = summarize(loaded, [description], { weights: [0, 1] }, sampling).texts[0]!;
  const long = summarize(loaded, [description], { weights: [1, 0] }, sampling).texts[0]!;
  assert.notEqual(short, long);
  loaded.dispose();
  result.policy.dispose();
  result.reference.dispose();
  assert.equal(torch.liveTensorCount(), 0);
});

test("NaN reward stops run with checkpoint", async () => {
  let calls = 0;
  registerReward({
    name: "flaky-length",
    description: "summary length in characters / 100, NaN after 40 calls",
    range: [0, Number.POSITIVE_INFINITY],
    higherIsBetter: true,
    score: ({ summary }) => (++calls > 40 ? Number.NaN : summary.length / 100),
  }, { replace: true });
  const runDir = makeTempDir("clp-nan-");
  const config = resolveConfig({ ...base, objectives: ["coverage", "flaky-length"], rl: { ...base.rl, steps: 3 } }, "nan");
  await assert.rejects(trainRun(config, runDir, { quiet: true }), (err: unknown) => {
    assert.ok(err instanceof RewardError);
    assert.equal(err.rewardName, "flaky-length");
    assert.match(err.message, /flaky-length/);
    assert.match(err.message, /RL step 1/);
    assert.match(err.message, /clp train --resume/);
    assert.ok(typeof err.summary === "string");
    return true;
  });
  const saved = ClpPolicy.load(join(runDir, "checkpoints", "step-000000", "policy"));
  assert.deepEqual(saved.objectives, ["coverage", "flaky-length"]);
  saved.dispose();
});
