import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWeights, simplexGrid, validateWeights, WeightError } from "../src/clp/weights.js";
import { leaveOneOutAdvantages } from "../src/rl/advantages.js";
import { resolveConfig, ClpConfigError } from "../src/clp/config.js";
import { Rng } from "../src/util/rng.js";
import { steeringChecks } from "../src/cli/report.js";

const objectives = ["coverage", "brevity"];

test("weights: valid vectors, including zero components", () => {
  assert.deepEqual(parseWeights("0.2,0.8", objectives), [0.2, 0.8]);
  assert.deepEqual(parseWeights("1, 0", objectives), [1, 0]);
  validateWeights([1 / 3, 1 / 3, 1 / 3], ["a", "b", "c"]);
  validateWeights([0.3333, 0.3333, 0.3334], ["a", "b", "c"]);
});

test("weights: every bad vector is rejected by name", () => {
  const cases: [string, RegExp][] = [
    ["0.2,0.3,0.5", /weights \[0\.2, 0\.3, 0\.5\] have 3 entries but the policy has 2 objectives \(coverage, brevity\)/],
    ["-0.2,1.2", /entry 0 \(coverage\) is negative/],
    ["NaN,1", /entry 0 \("NaN"\) is not a number/],
    ["0.2,abc", /entry 1 \("abc"\) is not a number/],
    ["0.5,0.6", /sum to 1\.1; they must sum to 1/],
    ["0.5,", /entry 1 \(""\) is not a number/],
    ["0x1,0", /entry 0 \("0x1"\) is not a number/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseWeights(text, objectives), (err: unknown) => err instanceof WeightError && message.test(err.message), text);
  }
  assert.throws(() => validateWeights([Number.POSITIVE_INFINITY, 0], objectives), /entry 0 \(coverage\) is not a finite number/);
});

test("simplex lattice sizes and contents", () => {
  assert.equal(simplexGrid(2, 10).length, 11);
  assert.equal(simplexGrid(3, 10).length, 66);
  assert.equal(simplexGrid(4, 10).length, 286);
  assert.deepEqual(simplexGrid(2, 2), [[1, 0], [0.5, 0.5], [0, 1]]);
  for (const w of simplexGrid(3, 10)) assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

test("leave-one-out advantages", () => {
  assert.deepEqual(leaveOneOutAdvantages([[1, 2, 3]]), [[1 - (2 + 3) / 2, 2 - (1 + 3) / 2, 3 - (1 + 2) / 2]]);
  assert.deepEqual(leaveOneOutAdvantages([[5, 5]]), [[0, 0]]);
  // An unscorable sample gets 0 and leaves the others' baselines.
  assert.deepEqual(leaveOneOutAdvantages([[1, null, 3]]), [[1 - 3, 0, 3 - 1]]);
  assert.deepEqual(leaveOneOutAdvantages([[1, null]]), [[0, 0]]);
  assert.throws(() => leaveOneOutAdvantages([[1]]), /at least 2 samples/);
});

test("config errors name the field and the fix", () => {
  assert.throws(() => resolveConfig({ rl: { samplesPerPrompt: 1 } }, "x.json"), (e: unknown) => e instanceof ClpConfigError && /x\.json: field "rl\.samplesPerPrompt" is 1; it must be an integer ≥ 2/.test(e.message));
  assert.throws(() => resolveConfig({ rl: { stepz: 3 } }, "x.json"), /unknown field "rl\.stepz"/);
  assert.throws(() => resolveConfig({ objectives: [] }, "x.json"), /field "objectives" must be a non-empty list/);
  assert.throws(() => resolveConfig({ conditioning: { variant: "lowrank" } }, "x.json"), /"conditioning\.variant" is "lowrank"; available: full, attn, logit, lora, none/);
  assert.throws(() => resolveConfig({ conditioning: { variant: "none" } }, "x.json"), /leaves the policy blind to w; set "prompt": true/);
  assert.throws(() => resolveConfig({ conditioning: { loraTargets: ["q_proj", "gate"] } }, "x.json"), /"conditioning\.loraTargets" is \["q_proj","gate"\]; list one or more of/);
  assert.throws(() => resolveConfig({ conditioning: { klRange: [0.2, 0.1] } }, "x.json"), /"conditioning\.klRange" is \[0\.2,0\.1\]; give \[min, max\]/);
  assert.throws(() => resolveConfig({ conditioning: { klRange: [0.1, 0.2] } }, "x.json"), /"rl\.klCoef" \(0\.05\) is the default α at inference and must lie inside/);
  assert.throws(() => resolveConfig({ method: "soups" }, "x.json"), /field "method" is "soups"; available: clp, rewarded-soups/);
  assert.throws(() => resolveConfig({ method: "dera" }, "x.json"), /method "dera" needs field "baseline\.alignedFrom"/);
  assert.throws(() => resolveConfig({ method: "rewarded-soups", conditioning: { variant: "attn" } }, "x.json"), /trains single-weight policies with every parameter/);
  assert.throws(() => resolveConfig({ rewardModules: "mine.js" }, "x.json"), /field "rewardModules" must be a list of module paths/);
  assert.throws(() => resolveConfig({ objectives: ["brevity"] }, "x.json"), /lists one reward \(\["brevity"\]\); steering needs at least two/);
  assert.throws(() => resolveConfig({ conditioning: { klRange: "0.1" } }, "x.json"), /"conditioning\.klRange" must be a list \(or null\)/);
  assert.throws(() => resolveConfig({ conditioning: { loraTargets: ["q_proj", "q_proj"] } }, "x.json"), /each once/);
  assert.throws(() => resolveConfig({ eval: { seed: -1.5 } }, "x.json"), /"eval\.seed" is -1\.5; it must be a non-negative integer/);
  assert.throws(() => resolveConfig({ rl: { lr: "fast" } }, "x.json"), /field "rl\.lr" must be a number, got "fast"/);
  assert.equal(resolveConfig({}, "x.json").rl.samplesPerPrompt, 4);
});

test("Dirichlet(1) draws lie on the simplex and average 1/m", () => {
  const rng = new Rng(9);
  const draws = Array.from({ length: 4000 }, () => rng.dirichlet(3, 1));
  for (const w of draws.slice(0, 50)) {
    assert.ok(w.every((x) => x >= 0));
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  }
  for (let j = 0; j < 3; j++) {
    const mean = draws.reduce((a, w) => a + w[j]!, 0) / draws.length;
    assert.ok(Math.abs(mean - 1 / 3) < 0.02, `component ${j} mean ${mean}`);
  }
});

test("steering check compares each objective at its own vertex", () => {
  const point = (weights: number[], means: number[]) => ({ weights, means, stderrs: [0.01, 0.01], kl: 0, klStderr: 0, meanLength: 5, samples: [], perPrompt: [] });
  const checks = steeringChecks(objectives, [point([1, 0], [0.6, 0.3]), point([0.5, 0.5], [0.5, 0.5]), point([0, 1], [0.2, 0.8])]);
  assert.equal(checks[0]!.difference, 0.6 - 0.2);
  assert.equal(checks[0]!.passed, true);
  assert.equal(checks[1]!.difference, 0.8 - 0.3);
  const flat = steeringChecks(objectives, [point([1, 0], [0.5, 0.5]), point([0, 1], [0.49, 0.5])]);
  assert.equal(flat[0]!.passed, false);
});

test("steering check tests every other vertex", () => {
  const names = ["a", "b", "c"];
  const point = (weights: number[], means: number[], stderrs: number[]) => ({ weights, means, stderrs, kl: 0, klStderr: 0, meanLength: 5, samples: [], perPrompt: [] });
  // e₂ has the higher mean of objective a, but e₃ is closer in standard errors (0.15 / 0.1005).
  const checks = steeringChecks(names, [
    point([1, 0, 0], [1.0, 0, 0], [0.01, 0.01, 0.01]),
    point([0, 1, 0], [0.9, 1, 0], [0.01, 0.01, 0.01]),
    point([0, 0, 1], [0.85, 0, 1], [0.1, 0.01, 0.01]),
  ]);
  assert.equal(checks[0]!.passed, false);
  assert.equal(checks[0]!.otherVertexMean, 0.85);
  assert.equal(checks[0]!.paired, false);
});

test("steering check pairs prompts", () => {
  // Rewards that move together across prompts: unpaired the difference drowns in prompt noise.
  const perPromptOwn = [[0.9, 0], [0.5, 0], [0.1, 0], [0.7, 0]];
  const perPromptOther = perPromptOwn.map(([a, b]) => [a! - 0.05, b! + 1]);
  const summary = (rows: number[][]) => ({
    means: [0, 1].map((j) => rows.reduce((sum, row) => sum + row[j]!, 0) / rows.length),
    stderrs: [0.2, 0.2],
  });
  const own = { weights: [1, 0], ...summary(perPromptOwn), kl: 0, klStderr: 0, meanLength: 5, samples: [], perPrompt: perPromptOwn };
  const other = { weights: [0, 1], ...summary(perPromptOther), kl: 0, klStderr: 0, meanLength: 5, samples: [], perPrompt: perPromptOther };
  const [check] = steeringChecks(objectives, [own, other]);
  assert.equal(check!.paired, true);
  assert.ok(Math.abs(check!.difference - 0.05) < 1e-12);
  assert.ok(check!.differenceStderr < 1e-12, `paired standard error ${check!.differenceStderr}`);
  assert.equal(check!.passed, true);
});
