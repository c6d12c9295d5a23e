import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../src/clp/config.js";
import { trainRun } from "../src/rl/methods.js";
import type { ClpPolicy } from "../src/clp/policy.js";
import { listCheckpoints, loadLatestCheckpoint, saveTrainingCheckpoint, verifyCheckpoint, type TrainingState } from "../src/rl/training-state.js";
import type { AdamW } from "../src/torch/index.js";
import { metricsOf, tensorsEqual } from "./support/run-files.js";

const tiny = {
  reference: "models/ref",
  objectives: ["coverage", "brevity"],
  data: { maxSourceTokens: 48, trainLimit: 200 },
  calibration: { prompts: 4, samplesPerPrompt: 2 },
  rl: { steps: 4, promptsPerStep: 2, samplesPerPrompt: 2, maxNewTokens: 8, lr: 1e-3, checkpointEvery: 2, dirichletAlpha: 0.5 },
  seed: 11,
};

test("4 steps equal 2, resume, 2 more", async () => {
  const root = mkdtempSync(join(tmpdir(), "clp-resume-"));
  for (const variant of ["attn", "lora"]) {
    const straight = join(root, `${variant}-straight`);
    const split = join(root, `${variant}-split`);
    const config = resolveConfig({ ...tiny, conditioning: { variant } }, "tiny");
    const a = await trainRun(config, straight, { quiet: true });
    a.policy.dispose();
    a.reference.dispose();
    const first = await trainRun(resolveConfig({ ...tiny, conditioning: { variant }, rl: { ...tiny.rl, steps: 2 } }, "tiny"), split, { quiet: true });
    first.policy.dispose();
    first.reference.dispose();
    const second = await trainRun(config, split, { quiet: true, resume: true });
    second.policy.dispose();
    second.reference.dispose();
    tensorsEqual(join(straight, "checkpoint", "model.safetensors"), join(split, "checkpoint", "model.safetensors"));
    tensorsEqual(join(straight, "checkpoints", "step-000004", "optimizer.safetensors"), join(split, "checkpoints", "step-000004", "optimizer.safetensors"));
    assert.deepEqual(metricsOf(split), metricsOf(straight), variant);
    assert.deepEqual(metricsOf(split).map((r) => r.step), [1, 2, 3, 4]);
    // Two checkpoints are kept per policy.
    assert.deepEqual(listCheckpoints(join(split, "checkpoints")), ["step-000004", "step-000002"]);
  }
  rmSync(root, { recursive: true, force: true });
});

test("corrupt newest checkpoint falls back", async () => {
  const runDir = mkdtempSync(join(tmpdir(), "clp-corrupt-"));
  const config = resolveConfig({ ...tiny, rl: { ...tiny.rl, checkpointEvery: 1, keepCheckpoints: 3 } }, "tiny");
  const result = await trainRun(config, runDir, { quiet: true });
  result.policy.dispose();
  result.reference.dispose();
  const root = join(runDir, "checkpoints");
  const newest = join(root, "step-000004", "policy", "model.safetensors");
  const bytes = readFileSync(newest);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
  writeFileSync(newest, bytes);
  assert.match(verifyCheckpoint(join(root, "step-000004"))!, /model\.safetensors does not match its SHA-256/);
  const warnings: string[] = [];
  const loaded = loadLatestCheckpoint(root, (w) => warnings.push(w));
  assert.equal(loaded.state.step, 3);
  assert.match(warnings[0]!, /skipping checkpoint .*step-000004/);
  loaded.policy.dispose();
  for (const t of loaded.moments.values()) t.dispose();
  rmSync(runDir, { recursive: true, force: true });
});

function writeTinyConfig(dir: string, steps: number): string {
  const path = join(dir, "tiny.json");
  writeFileSync(path, JSON.stringify({ ...tiny, reference: join(process.cwd(), "models/ref"), rl: { ...tiny.rl, steps, checkpointEvery: 1 } }));
  return path;
}

function linesOf(path: string): number {
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean).length : 0;
}

/** Starts clp train and resolves once its metrics file has `lines` records (or it exits). */
function startTraining(args: string[], metricsPath: string, lines: number) {
  const child = spawn(process.execPath, [join(process.cwd(), "bin/clp.js"), "train", ...args, "--no-eval", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on("exit", (code) => resolveExit(code)));
  const reached = new Promise<void>((resolveReached) => {
    const timer = setInterval(() => {
      if (linesOf(metricsPath) >= lines || child.exitCode !== null) {
        clearInterval(timer);
        resolveReached();
      }
    }, 20);
  });
  return { child, exited, reached, stderr: () => stderr };
}

test("kill -9 during training loses no run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "clp-kill-"));
  const config = writeTinyConfig(dir, 12);
  const runDir = join(dir, "run");
  const metricsPath = join(runDir, "metrics.jsonl");
  // Kills at different points of the step and save cycle, each time after one more step.
  const first = startTraining(["--config", config, "--run-dir", runDir], metricsPath, 2);
  await first.reached;
  await new Promise((r) => setTimeout(r, 150));
  first.child.kill("SIGKILL");
  await first.exited;
  for (let round = 0; round < 3; round++) {
    const target = linesOf(metricsPath) + 1;
    const resumed = startTraining(["--resume", runDir], metricsPath, target);
    await resumed.reached;
    await new Promise((r) => setTimeout(r, 40 + 90 * round));
    resumed.child.kill("SIGKILL");
    await resumed.exited;
    const root = join(runDir, "checkpoints");
    const loaded = loadLatestCheckpoint(root);
    assert.ok(loaded.state.step >= 1, `round ${round}: newest usable checkpoint at step ${loaded.state.step}`);
    loaded.policy.dispose();
    for (const t of loaded.moments.values()) t.dispose();
  }
  const done = spawnSync(process.execPath, ["bin/clp.js", "train", "--resume", runDir, "--no-eval", "--quiet"], { encoding: "utf8" });
  assert.equal(done.status, 0, done.stderr);
  const steps = readFileSync(metricsPath, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, Array.from({ length: 12 }, (_, i) => i + 1));
  assert.ok(existsSync(join(runDir, "checkpoint", "model.safetensors")));
  rmSync(dir, { recursive: true, force: true });
});

test("SIGINT saves and prints how to resume", async () => {
  const dir = mkdtempSync(join(tmpdir(), "clp-sigint-"));
  const config = writeTinyConfig(dir, 30);
  const runDir = join(dir, "run");
  const metricsPath = join(runDir, "metrics.jsonl");
  const training = startTraining(["--config", config, "--run-dir", runDir], metricsPath, 2);
  await training.reached;
  training.child.kill("SIGINT");
  const code = await training.exited;
  assert.equal(code, 1);
  assert.match(training.stderr(), /SIGINT received; finishing the current step/);
  assert.match(training.stderr(), /continue with: clp train --resume /);
  const saved = linesOf(metricsPath);
  const loaded = loadLatestCheckpoint(join(runDir, "checkpoints"));
  assert.equal(loaded.state.step, saved);
  loaded.policy.dispose();
  for (const t of loaded.moments.values()) t.dispose();
  const mismatch = spawnSync(process.execPath, ["bin/clp.js", "train", "--resume", runDir, "--set", "rl.lr=0.5", "--no-eval"], { encoding: "utf8" });
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, /differs from the config given to resume it/);
  rmSync(dir, { recursive: true, force: true });
});

test("failed save keeps the earlier checkpoint", async () => {
  const runDir = mkdtempSync(join(tmpdir(), "clp-full-disk-"));
  const result = await trainRun(resolveConfig({ ...tiny, rl: { ...tiny.rl, steps: 2 } }, "tiny"), runDir, { quiet: true });
  result.policy.dispose();
  result.reference.dispose();
  const root = join(runDir, "checkpoints");
  const state = JSON.parse(readFileSync(join(root, "step-000002", "state.json"), "utf8")) as TrainingState;
  // A policy whose save fails as a full disk would.
  const failing = { save: () => { throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }); } } as unknown as ClpPolicy;
  assert.throws(
    () => saveTrainingCheckpoint(root, failing, {} as AdamW, { ...state, step: 3 }, 2),
    /saving checkpoint step-000003 into .* failed \(ENOSPC: no space left on device, write\); the earlier checkpoint step-000002 is intact/,
  );
  assert.deepEqual(listCheckpoints(root), ["step-000002"]);
  assert.equal(verifyCheckpoint(join(root, "step-000002")), null);
  assert.ok(!readdirSync(root).some((name) => name.includes("partial")));
  rmSync(runDir, { recursive: true, force: true });
});

test("saving an earlier step drops later checkpoints", () => {
  const root = mkdtempSync(join(tmpdir(), "clp-rewind-"));
  // A policy and an optimizer with nothing to save stand in for the real ones.
  const save = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    for (const file of ["config.json", "model.safetensors", "tokenizer.json"]) writeFileSync(join(dir, file), file);
  };
  const policy = { save } as unknown as ClpPolicy;
  const optimizer = { expAvg: [], expAvgSq: [] } as unknown as AdamW;
  const state = { format: "clp-train-state/1", step: 0, optimizerStepCount: 0, parameterNames: [], rng: { data: [], weights: [] }, order: [] } as unknown as TrainingState;
  for (const step of [2, 3, 4]) saveTrainingCheckpoint(root, policy, optimizer, { ...state, step }, 2);
  assert.deepEqual(listCheckpoints(root), ["step-000004", "step-000003"]);
  // Stopping after skipped updates saves the state of step 2 again; resuming must start there.
  saveTrainingCheckpoint(root, policy, optimizer, { ...state, step: 2 }, 2);
  assert.deepEqual(listCheckpoints(root), ["step-000002"]);
  assert.equal(verifyCheckpoint(join(root, "step-000002")), null);
  rmSync(root, { recursive: true, force: true });
});
