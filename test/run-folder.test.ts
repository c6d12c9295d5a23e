// Tests of what protects a run folder on resume: the config checked against the checkpoints, one
// training process per folder, a checkpoint save interrupted between its renames, and damaged
// metrics. Each runs the real CLI on a tiny config.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { listCheckpoints } from "../src/rl/training-state.js";

const root = mkdtempSync(join(tmpdir(), "clp-run-folder-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

const tiny = {
  reference: "models/ref",
  objectives: ["coverage", "brevity"],
  data: { maxSourceTokens: 48, trainLimit: 200 },
  calibration: { prompts: 4, samplesPerPrompt: 2 },
  rl: { steps: 3, promptsPerStep: 2, samplesPerPrompt: 2, maxNewTokens: 8, checkpointEvery: 1, lr: 1e-3 },
  seed: 11,
};

function writeConfig(name: string, config: unknown = tiny): string {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function clp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["bin/clp.js", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function trainFresh(name: string, config: unknown = tiny): string {
  const runDir = join(root, name);
  const result = clp("train", "--config", writeConfig(name, config), "--run-dir", runDir, "--no-eval", "--quiet");
  assert.equal(result.status, 0, result.stderr);
  return runDir;
}

function metricSteps(runDir: string): number[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((line) => (JSON.parse(line) as { step: number }).step);
}

test("edited config is refused on resume", () => {
  const runDir = trainFresh("edited");
  const configPath = join(runDir, "config.json");
  const config = JSON.parse(readFileSync(configPath, "utf8")) as { rl: { lr: number } };
  config.rl.lr = 0.5;
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const resumed = clp("train", "--resume", runDir, "--steps", "4", "--no-eval");
  assert.equal(resumed.status, 1);
  assert.match(resumed.stderr, /^clp: .*config\.json differs from the config that .*step-000003 was trained with \(rl\.lr is 0\.5, was 0\.001\); restore the run's config/);
  assert.equal(resumed.stderr.trim().split("\n").length, 1, "one line, no stack trace");
  assert.deepEqual(listCheckpoints(join(runDir, "checkpoints")), ["step-000003", "step-000002"]);
});

test("steps below the progress are refused", () => {
  const runDir = trainFresh("shorter");
  const resumed = clp("train", "--resume", runDir, "--steps", "2", "--no-eval");
  assert.equal(resumed.status, 1);
  assert.match(resumed.stderr, /has trained 3 steps already .*give --steps 3 or more/);
  assert.equal((JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as { rl: { steps: number } }).rl.steps, 3, "config.json untouched");
  const misuse = clp("train", "--resume", runDir, "--run-dir", join(root, "other"));
  assert.match(misuse.stderr, /^clp: --resume continues the run in its own folder; drop --run-dir/);
});

test("second process on a run folder is refused", async () => {
  const config = { ...tiny, rl: { ...tiny.rl, steps: 400 } };
  const runDir = join(root, "busy");
  const first = spawn(process.execPath, ["bin/clp.js", "train", "--config", writeConfig("busy", config), "--run-dir", runDir, "--no-eval", "--quiet"], { stdio: "ignore" });
  try {
    // Waits for the first process to calibrate and take the lock.
    for (let i = 0; i < 600 && !existsSync(join(runDir, "metrics.jsonl")); i++) await new Promise((wait) => setTimeout(wait, 100));
    assert.ok(existsSync(join(runDir, "metrics.jsonl")), "the first run started");
    const second = clp("train", "--resume", runDir, "--no-eval");
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`^clp: run folder ${runDir} is in use by another clp train \\(process ${first.pid}\\)`));
    const overwrite = clp("train", "--config", writeConfig("busy", config), "--run-dir", runDir, "--overwrite", "--no-eval");
    assert.equal(overwrite.status, 1);
    assert.match(overwrite.stderr, /is in use by another clp train/);
    assert.ok(existsSync(join(runDir, "metrics.jsonl")), "--overwrite deleted nothing");
  } finally {
    first.kill("SIGKILL");
    await new Promise((done) => first.once("exit", done));
  }
  // The lock of the killed process is taken over.
  assert.equal(readlinkSync(join(runDir, ".lock")), String(first.pid));
  const config3 = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as { rl: { steps: number } };
  assert.equal(config3.rl.steps, 400);
  const after = clp("train", "--resume", runDir, "--steps", String(Math.max(...metricSteps(runDir), 1) + 1), "--no-eval", "--quiet");
  assert.equal(after.status, 0, after.stderr);
  assert.ok(!existsSync(join(runDir, ".lock")), "the lock is released at the end");
});

test("left-over lock race has one winner", async () => {
  const lockModule = new URL("../src/rl/run-lock.js", import.meta.url).href;
  // Each contender waits for a shared start time, tries the lock, reports, and keeps a won lock
  // until every contender has tried.
  const contender = [
    `import { lockRunFolder } from ${JSON.stringify(lockModule)};`,
    "const [runDir, startAt] = process.argv.slice(1);",
    "while (Date.now() < Number(startAt));",
    "try { lockRunFolder(runDir); console.log('won'); setTimeout(() => {}, 1500); }",
    "catch (err) { console.log(/is in use by another clp train/.test(err.message) ? 'refused' : 'error: ' + err.message); }",
  ].join("\n");
  const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
  for (let round = 0; round < 6; round++) {
    const runDir = join(root, `race-${round}`);
    mkdirSync(runDir);
    symlinkSync(String(dead), join(runDir, ".lock"));
    const startAt = Date.now() + 1500;
    const outcomes = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<string>((done) => {
            const child = spawn(process.execPath, ["--input-type=module", "-e", contender, runDir, String(startAt)], { stdio: ["ignore", "pipe", "inherit"] });
            let out = "";
            child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
            child.on("exit", () => done(out.trim()));
          }),
      ),
    );
    assert.deepEqual(outcomes.filter((o) => o !== "won" && o !== "refused"), [], `round ${round}: unexpected outcomes`);
    assert.equal(outcomes.filter((o) => o === "won").length, 1, `round ${round}: ${outcomes.join(", ")}`);
    assert.ok(!existsSync(join(runDir, ".lock.takeover")), "the takeover lock is released");
  }
});

test("save interrupted between renames recovers", () => {
  const straight = trainFresh("renames-straight", { ...tiny, rl: { ...tiny.rl, steps: 4 } });
  const runDir = trainFresh("renames");
  // As if killed while saving step 3 again: the earlier copy was moved aside, the new one not yet in.
  renameSync(join(runDir, "checkpoints", "step-000003"), join(runDir, "checkpoints", ".step-000003.replaced-4242"));
  const resumed = clp("train", "--resume", runDir, "--steps", "4", "--no-eval");
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming after step 3 from .*step-000003/);
  assert.ok(readFileSync(join(runDir, "checkpoint", "model.safetensors")).equals(readFileSync(join(straight, "checkpoint", "model.safetensors"))), "equal to an uninterrupted run");
});

test("damaged metrics are reported, not fatal", () => {
  const runDir = trainFresh("metrics");
  const path = join(runDir, "metrics.jsonl");
  const lines = readFileSync(path, "utf8").trim().split("\n");
  writeFileSync(path, [lines[0], "{not json", lines[2]].join("\n") + "\n");
  const resumed = clp("train", "--resume", runDir, "--steps", "4", "--no-eval");
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /metrics\.jsonl: left out 1 damaged or out-of-order records/);
  assert.deepEqual(metricSteps(runDir), [1, 3, 4]);
  rmSync(path);
  // Warnings about lost records show with --quiet too.
  const again = clp("train", "--resume", runDir, "--steps", "5", "--no-eval", "--quiet");
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /metrics\.jsonl is missing; the records of steps 1 to 4 are lost/);
  assert.deepEqual(metricSteps(runDir), [5]);
});

test("bad reference keeps the old run", () => {
  const runDir = trainFresh("keep-old");
  const damaged = join(root, "damaged-ref");
  cpSync("models/ref", damaged, { recursive: true });
  writeFileSync(join(damaged, "model.safetensors"), readFileSync(join(damaged, "model.safetensors")).subarray(0, 1000));
  for (const reference of [resolve(root, "no-such-model"), join(root, "keep-old"), damaged]) {
    const result = clp("train", "--config", writeConfig("bad-ref", { ...tiny, reference }), "--run-dir", runDir, "--overwrite", "--no-eval");
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^clp: field "reference" names .*(does not exist|is not a model folder|does not load)/);
    assert.ok(existsSync(join(runDir, "checkpoint", "model.safetensors")), `the run survives reference ${reference}`);
  }
});

test("failed calibration leaves a folder overwrite can reuse", () => {
  const runDir = join(root, "calibration");
  mkdirSync(runDir);
  writeFileSync(join(runDir, "config.json"), JSON.stringify(tiny));
  const resumed = clp("train", "--resume", runDir, "--no-eval");
  assert.equal(resumed.status, 1);
  assert.match(resumed.stderr, /its calibration did not finish\); start it again with clp train --config .*config\.json --run-dir .* --overwrite/);
  const again = clp("train", "--config", join(runDir, "config.json"), "--run-dir", runDir, "--overwrite", "--no-eval", "--quiet");
  assert.equal(again.status, 0, again.stderr);
});

test("changed reference is refused on resume", () => {
  const referenceDir = join(root, "ref-copy");
  cpSync("models/ref", referenceDir, { recursive: true });
  const runDir = trainFresh("ref-changed", { ...tiny, reference: referenceDir });
  assert.equal((JSON.parse(readFileSync(join(runDir, "reference.json"), "utf8")) as { path: string }).path, referenceDir);
  // Another model in the same place: the last weight byte changed.
  const weights = readFileSync(join(referenceDir, "model.safetensors"));
  weights.writeUInt8(weights.readUInt8(weights.length - 1) ^ 1, weights.length - 1);
  writeFileSync(join(referenceDir, "model.safetensors"), weights);
  const resumed = clp("train", "--resume", runDir, "--steps", "4", "--no-eval");
  assert.equal(resumed.status, 1);
  assert.match(resumed.stderr, /^clp: π_ref .*ref-copy is not the model this run was trained against/);
  // The same model in another place resumes.
  const moved = join(root, "ref-moved");
  cpSync("models/ref", moved, { recursive: true });
  const configPath = join(runDir, "config.json");
  writeFileSync(configPath, JSON.stringify({ ...(JSON.parse(readFileSync(configPath, "utf8")) as object), reference: moved }, null, 2) + "\n");
  const elsewhere = clp("train", "--resume", runDir, "--steps", "4", "--no-eval", "--quiet");
  assert.equal(elsewhere.status, 0, elsewhere.stderr);
});

test("manifest missing a file falls back", () => {
  const runDir = trainFresh("manifest");
  const manifestPath = join(runDir, "checkpoints", "step-000003", "MANIFEST.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { files: Record<string, unknown> };
  delete manifest.files["policy/model.safetensors"];
  writeFileSync(manifestPath, JSON.stringify(manifest));
  const resumed = clp("train", "--resume", runDir, "--steps", "4", "--no-eval");
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /skipping checkpoint .*step-000003: MANIFEST\.json does not list policy\/model\.safetensors/);
  assert.match(resumed.stderr, /resuming after step 2 from .*step-000002/);
  rmSync(join(runDir, "policy.json"));
  rmSync(join(runDir, "checkpoint"), { recursive: true });
  const unfinished = clp("generate", "--run", runDir, "--weights", "0.5,0.5", "--text", "A chess program.");
  assert.equal(unfinished.status, 1);
  assert.match(unfinished.stderr, /^clp: .* is a run folder whose training has not finished \(no policy\.json\); finish it with clp train --resume /);
});

test("configs that cannot run are refused", () => {
  const tooLong = clp("train", "--config", writeConfig("too-long", { ...tiny, data: { ...tiny.data, maxSourceTokens: 100000 } }), "--run-dir", join(root, "too-long"), "--no-eval");
  assert.equal(tooLong.status, 1);
  assert.match(tooLong.stderr, /^clp: data\.maxSourceTokens \(100000\) plus the longest summary \(maxNewTokens 20\) leaves no room .* context of 256/);
  const nullSeed = clp("train", "--config", writeConfig("null-seed", { ...tiny, seed: null }), "--run-dir", join(root, "null-seed"), "--no-eval");
  assert.equal(nullSeed.status, 1);
  assert.match(nullSeed.stderr, /field "seed" must be an integer/);
  assert.ok(!existsSync(join(root, "too-long")), "nothing written for too-long");
  assert.ok(!existsSync(join(root, "null-seed")), "nothing written for null-seed");
});
