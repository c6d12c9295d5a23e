// Tests of scoring under a time limit. Rewards run in a worker thread, and a reward that hangs or
// crashes the worker is stopped and named. Training then stops with a resumable checkpoint, or in
// "skip" mode leaves the failed sample out and goes on.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
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
  ScoringAborted,
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
    // "skip" mode scores every sample with score, which does not hang, and reports the hang.
    const skipped = await scorer.scorePerSample(inputs);
    assert.deepEqual(skipped.rows, [[0.4], [0.4], [0.1]]);
    assert.equal(skipped.errors.length, 1);
    assert.equal(skipped.errors[0]!.rewardName, "test-hang-batch");
    assert.equal(skipped.errors[0]!.sampleIndex, undefined);
    assert.match(skipped.errors[0]!.message, /reward "test-hang-batch" did not return from scoreBatch on 3 samples within 0\.5 s/);
  } finally {
    await scorer.close();
  }
});

test("abort stops a hanging call", async () => {
  const { registry, score } = await hangingRewards();
  const scorer = await RewardScorer.open([score], { timeoutSeconds: 30, registry });
  try {
    for (const method of ["scoreAll", "scorePerSample"] as const) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("SIGTERM")), 200);
      const started = Date.now();
      await assert.rejects(scorer[method](inputs, controller.signal), (err: unknown) => {
        assert.ok(err instanceof ScoringAborted, `${method}: expected ScoringAborted, got ${String(err)}`);
        assert.equal(err.message, "reward scoring was aborted");
        assert.match(String((err.cause as Error).message), /SIGTERM/);
        return true;
      });
      assert.ok(Date.now() - started < 2000, `${method} returned ${Date.now() - started} ms after the call`);
    }
    // A signal that is already aborted scores nothing.
    await assert.rejects(scorer.scoreAll(inputs, AbortSignal.abort()), ScoringAborted);
    // A fresh worker serves the next batch.
    assert.deepEqual(await scorer.scoreAll([inputs[0]!], new AbortController().signal), [[0.4]]);
  } finally {
    await scorer.close();
  }
});

/**
 * Rewards that end their worker thread: with process.exit in a call, with process.exit in
 * scoreBatch, by running out of heap, or after the call from a timer or a rejected promise.
 */
const CRASHING_MODULE = `
const words = (summary) => summary.split(/\\s+/).filter((word) => word !== "").length;
const base = { range: [0, 1], higherIsBetter: true };
export default [
  {
    ...base,
    name: "test-crash-exit",
    description: "Word count over 10, capped at 1; ends the thread with code 3 on a summary containing exit.",
    score({ summary }) {
      if (summary.includes("exit")) process.exit(3);
      return Math.min(1, words(summary) / 10);
    },
  },
  {
    ...base,
    name: "test-crash-batch",
    description: "Word count over 10, capped at 1; its batch form ends the thread when any summary contains exit.",
    score({ summary }) {
      return Math.min(1, words(summary) / 10);
    },
    scoreBatch(inputs) {
      if (inputs.some(({ summary }) => summary.includes("exit"))) process.exit(3);
      return inputs.map(({ summary }) => Math.min(1, words(summary) / 10));
    },
  },
  {
    ...base,
    name: "test-crash-heap",
    description: "Word count over 10, capped at 1; fills the heap on a summary containing exit.",
    score({ summary }) {
      const kept = [];
      if (summary.includes("exit")) for (;;) kept.push(new Array(100000).fill(Math.random()));
      return Math.min(1, words(summary) / 10);
    },
  },
  {
    ...base,
    name: "test-crash-timer",
    description: "Word count over 10, capped at 1; throws from a timer after each call.",
    score({ summary }) {
      setTimeout(() => {
        throw new Error("late");
      }, 0);
      return Math.min(1, words(summary) / 10);
    },
  },
  {
    ...base,
    name: "test-crash-rejection",
    description: "Word count over 10, capped at 1; leaves a rejected promise behind after each call.",
    score({ summary }) {
      Promise.reject(new Error("rejected"));
      return Math.min(1, words(summary) / 10);
    },
  },
];
`;

const crashingPath = join(root, "crashing.mjs");
writeFileSync(crashingPath, CRASHING_MODULE);

const exitInputs: RewardInput[] = [
  { source: "a fast tool", summary: "fast tool for files" },
  { source: "a tool that quits", summary: "it will exit here" },
  { source: "a third tool", summary: "third" },
];

async function crashingRewards(): Promise<{ registry: RewardRegistry; byName: Map<string, RewardFunction> }> {
  const registry = new RewardRegistry();
  const rewards = await registry.loadModule(crashingPath);
  return { registry, byName: new Map(rewards.map((reward) => [reward.name, reward])) };
}

test("process.exit in a call fails its sample", async () => {
  const { registry, byName } = await crashingRewards();
  const scorer = await RewardScorer.open([byName.get("test-crash-exit")!], { timeoutSeconds: 5, registry });
  try {
    await assert.rejects(scorer.scoreAll(exitInputs), (err: unknown) => {
      assert.ok(err instanceof RewardError, `expected a RewardError, got ${String(err)}`);
      assert.equal(err.rewardName, "test-crash-exit");
      assert.equal(err.sampleIndex, 1);
      assert.equal(err.message, 'reward "test-crash-exit" crashed the reward worker on sample 1 (summary "it will exit here"): it exited with code 3');
      return true;
    });
    const skipped = await scorer.scorePerSample(exitInputs);
    assert.deepEqual(skipped.rows, [[0.4], null, [0.1]]);
    assert.equal(skipped.errors.length, 1);
    assert.equal(skipped.errors[0]!.sampleIndex, 1);
    assert.match(skipped.errors[0]!.message, /crashed the reward worker on sample 1 .*: it exited with code 3/);
    // A fresh worker serves the next batch.
    assert.deepEqual(await scorer.scoreAll([exitInputs[0]!, exitInputs[2]!]), [[0.4], [0.1]]);
  } finally {
    await scorer.close();
  }
});

test("process.exit in scoreBatch falls back", async () => {
  const { registry, byName } = await crashingRewards();
  const scorer = await RewardScorer.open([byName.get("test-crash-batch")!], { timeoutSeconds: 5, registry });
  try {
    await assert.rejects(scorer.scoreAll(exitInputs), (err: unknown) => {
      assert.ok(err instanceof RewardError, `expected a RewardError, got ${String(err)}`);
      assert.equal(err.sampleIndex, undefined);
      assert.equal(err.message, 'reward "test-crash-batch" crashed the reward worker in scoreBatch on 3 samples: it exited with code 3');
      return true;
    });
    const skipped = await scorer.scorePerSample(exitInputs);
    assert.deepEqual(skipped.rows, [[0.4], [0.4], [0.1]]);
    assert.equal(skipped.errors.length, 1);
    assert.match(skipped.errors[0]!.message, /in scoreBatch on 3 samples: it exited with code 3/);
  } finally {
    await scorer.close();
  }
});

test("heap out of memory fails its sample", () => {
  // The worker inherits the child's 64 MB heap limit, so the heap fills in well under a second.
  const script = join(root, "heap.mjs");
  const rewardsIndex = new URL("../src/rewards/index.js", import.meta.url).href;
  writeFileSync(
    script,
    `
import { RewardRegistry, RewardScorer } from ${JSON.stringify(rewardsIndex)};
const registry = new RewardRegistry();
const rewards = await registry.loadModule(${JSON.stringify(crashingPath)});
const heap = rewards.find((reward) => reward.name === "test-crash-heap");
const scorer = await RewardScorer.open([heap], { timeoutSeconds: 30, registry });
try {
  await scorer.scoreAll(${JSON.stringify(exitInputs)});
  console.log(JSON.stringify({ scored: true }));
} catch (err) {
  console.log(JSON.stringify({ name: err.name, rewardName: err.rewardName, sampleIndex: err.sampleIndex, message: err.message }));
}
console.log(JSON.stringify({ next: await scorer.scoreAll([{ source: "a", summary: "one two" }]) }));
await scorer.close();
`,
  );
  const result = spawnSync(process.execPath, ["--max-old-space-size=64", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  const [failure, next] = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(failure!.name, "RewardError");
  assert.equal(failure!.rewardName, "test-crash-heap");
  assert.equal(failure!.sampleIndex, 1);
  assert.match(String(failure!.message), /reward "test-crash-heap" crashed the reward worker on sample 1 \(summary "it will exit here"\): .*out of memory/);
  assert.deepEqual(next!.next, [[0.2]]);
});

test("crash after a call spares the process", async () => {
  // The timer and the rejection end the worker after it replied; the next batch gets a new one.
  const { registry, byName } = await crashingRewards();
  for (const name of ["test-crash-timer", "test-crash-rejection"]) {
    const scorer = await RewardScorer.open([byName.get(name)!], { timeoutSeconds: 5, registry });
    try {
      assert.deepEqual(await scorer.scoreAll([inputs[0]!]), [[0.4]], name);
      await new Promise((resolveLater) => setTimeout(resolveLater, 300));
      assert.deepEqual(await scorer.scoreAll([inputs[2]!]), [[0.1]], name);
      assert.deepEqual((await scorer.scorePerSample([inputs[0]!])).rows, [[0.4]], name);
      // Sent at once, this batch may reach the dying worker, which is then replaced.
      assert.deepEqual(await scorer.scoreAll([inputs[2]!]), [[0.1]], name);
    } finally {
      await scorer.close();
    }
  }
});

test("worker dying outside calls raises", async () => {
  // In a worker, the module's own message listener runs before the scorer's and ends the thread,
  // so every worker dies on its first request before any reward call.
  const path = join(root, "dies-after-load.mjs");
  writeFileSync(
    path,
    `import { parentPort } from "node:worker_threads";
parentPort?.on("message", () => process.exit(4));
export default { name: "test-dies-after-load", description: "Constant 1.", range: [0, 1], higherIsBetter: true, score: () => 1 };
`,
  );
  const registry = new RewardRegistry();
  const [reward] = await registry.loadModule(path);
  const scorer = await RewardScorer.open([reward!], { timeoutSeconds: 5, registry });
  try {
    for (const score of [() => scorer.scoreAll(inputs), () => scorer.scorePerSample(inputs)]) {
      await assert.rejects(score(), (err: unknown) => {
        assert.ok(err instanceof RewardError, `expected a RewardError, got ${String(err)}`);
        assert.equal(err.rewardName, "test-dies-after-load");
        assert.equal(err.sampleIndex, undefined);
        assert.match(err.message, /^the reward worker crashed outside any reward call twice in a row \(it exited with code 4\); a reward module may leave behind a timer, promise or listener/);
        return true;
      });
    }
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

test("worker load failures name the module", async () => {
  const cases: { name: string; body: string; message: RegExp }[] = [
    {
      name: "throws",
      body: `if (!isMainThread) throw new Error("needs the main thread");`,
      message: /^in the reward worker: failed to import reward module .*worker-throws\.mjs: needs the main thread; the reward worker imports each reward module again, so the module must also load in a worker thread/,
    },
    {
      name: "exits",
      body: `if (!isMainThread) process.exit(5);`,
      message: /^reward module .*worker-exits\.mjs crashed the reward worker while loading: it exited with code 5; the reward worker imports/,
    },
    {
      name: "awaits",
      body: `if (!isMainThread) await new Promise(() => {});`,
      message: /^reward module .*worker-awaits\.mjs did not finish loading in the reward worker \(a top-level await that never settles\?\)$/,
    },
    {
      name: "waits",
      body: `if (!isMainThread) await new Promise(() => setInterval(() => {}, 1000));`,
      message: /^reward module .*worker-waits\.mjs did not finish loading in the reward worker within 0\.5 s \(a top-level await that never settles\?\); raise the limit if it is only slow$/,
    },
  ];
  for (const { name, body, message } of cases) {
    const path = join(root, `worker-${name}.mjs`);
    writeFileSync(
      path,
      `import { isMainThread } from "node:worker_threads";
${body}
export default { name: "test-worker-${name}", description: "Constant 1.", range: [0, 1], higherIsBetter: true, score: () => 1 };
`,
    );
    const registry = new RewardRegistry();
    const [reward] = await registry.loadModule(path);
    await assert.rejects(RewardScorer.open([BUILTIN_REWARDS[0]!, reward!], { timeoutSeconds: 0.5, registry, raiseHint: "raise the limit" }), (err: unknown) => {
      assert.ok(err instanceof RewardModuleError, `${name}: expected a RewardModuleError, got ${String(err)}`);
      assert.equal(err.modulePath, path, name);
      assert.match(err.message, message, name);
      return true;
    });
  }
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

test("SIGTERM stops a hung reward at once", async () => {
  const runDir = join(root, "sigterm-run");
  const child = spawn(process.execPath, ["bin/clp.js", "train", "--config", trainConfig("sigterm", { rewardTimeoutSeconds: 120 }), "--run-dir", runDir, "--no-eval"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  // Calibration scores the first 8 calls; the ninth, in RL step 1, hangs.
  for (let i = 0; i < 600 && !existsSync(join(runDir, "calibration.json")); i++) await new Promise((wait) => setTimeout(wait, 100));
  await new Promise((wait) => setTimeout(wait, 1500));
  const signalled = Date.now();
  child.kill("SIGTERM");
  const code = await exited;
  assert.ok(Date.now() - signalled < 20_000, `stopped ${Date.now() - signalled} ms after SIGTERM, not after the 120 s limit`);
  assert.equal(code, 1, stderr);
  assert.match(stderr, /stopped during step 1 of 2 while the rewards were scoring; the state before this step is saved in .*step-000000; continue with: clp train --resume /);
  assert.equal(verifyCheckpoint(join(runDir, "checkpoints", "step-000000")), null);
});

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
  // The run trained in skip mode. Its evaluation scores in a new worker, whose ninth call hangs:
  // that is the first sample at the second weight, after π_ref and the first weight on 4 prompts.
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
  // An edited reward module keys new cache entries: the scores come from a fresh worker again,
  // whose ninth call hangs as the first time.
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, "late.mjs"), later, later);
  const edited = evaluate();
  assert.equal(edited.status, 1, edited.stdout);
  assert.match(edited.stderr, /reward "test-hang-late" did not return within 1 s/);
});

test("asynchronous reward is named as such", async () => {
  const registry = new RewardRegistry();
  const lazy: RewardFunction = { name: "test-async", description: "Resolves later.", range: [0, 1], higherIsBetter: true, score: (() => Promise.resolve(1)) as unknown as RewardFunction["score"] };
  registry.register(lazy);
  await assert.rejects(
    (await RewardScorer.open([lazy], { timeoutSeconds: 0, registry })).scoreAll(inputs),
    /reward "test-async" returned a Promise \(score must be synchronous\) instead of a number for sample 0/,
  );
  assert.throws(() => registry.register({ ...lazy, name: "test-range", range: [1, 0] }), /expected \[min, max\] with min < max .*got the array \[1,0\]/);
});
