import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTempDir } from "./support/temp-dir.js";

function clp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["bin/clp.js", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("every command prints help", () => {
  for (const command of ["train", "eval", "generate"]) {
    const r = clp(command, "--help");
    assert.equal(r.status, 0, command);
    assert.match(r.stdout, new RegExp(`^Usage: clp ${command}`), command);
  }
  assert.match(clp("--help").stdout, /Commands:/);
});

test("unknown command and missing options fail clearly", () => {
  const unknown = clp("frobnicate");
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^clp: unknown command "frobnicate"/);
  assert.match(clp("train").stderr, /^clp: --config is required/);
  assert.match(clp("generate", "--run", "x").stderr, /^clp: --weights is required/);
  assert.match(clp("train", "--bogus").stderr, /^clp: Unknown option '--bogus'/);
});

test("bad config file names the file and field", () => {
  const dir = makeTempDir("clp-cli-");
  const path = join(dir, "bad.json");
  writeFileSync(path, JSON.stringify({ rl: { klCoef: -1 } }));
  const r = clp("train", "--config", path);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.json: field "rl\.klCoef" is -1; it must be ≥ 0/);
  writeFileSync(path, "{ not json");
  assert.match(clp("train", "--config", path).stderr, /bad\.json: not valid JSON/);
  assert.match(clp("train", "--config", join(dir, "missing.json")).stderr, /missing\.json not found/);
});

test("generate rejects a plain model folder", () => {
  const r = clp("generate", "--checkpoint", "models/ref", "--weights", "0.5,0.5", "--text", "a tool");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /models\/ref\/config\.json has no "metadata\.clp" section; it is not a CLP policy checkpoint/);
});

test("unknown reward and used run folder fail before writing", () => {
  const dir = makeTempDir("clp-cli-");
  const path = join(dir, "cfg.json");
  writeFileSync(path, JSON.stringify({ objectives: ["coverage", "concision"] }));
  const runDir = join(dir, "run");
  const r = clp("train", "--config", path, "--run-dir", runDir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^clp: field "objectives" names unknown reward "concision"; available rewards: coverage, brevity/);
  assert.doesNotMatch(r.stderr, /unexpected error/);
  writeFileSync(path, JSON.stringify({}));
  const used = join(dir, "used");
  mkdirSync(used);
  writeFileSync(join(used, "config.json"), "{}");
  const again = clp("train", "--config", path, "--run-dir", used);
  assert.match(again.stderr, /run folder .*used already contains files; choose another --run-dir, or remove it \(clp train --overwrite\)/);
  assert.equal(readFileSync(join(used, "config.json"), "utf8"), "{}");
});

test("generate rejects zero tokens and hex weights", () => {
  const zero = clp("generate", "--checkpoint", "models/ref", "--weights", "1,0", "--text", "x", "--max-new-tokens", "0");
  assert.match(zero.stderr, /^clp: --max-new-tokens must be an integer ≥ 1, got "0"/);
  const empty = clp("train", "--config", "configs/default.json", "--steps", "");
  assert.match(empty.stderr, /^clp: --steps must be an integer ≥ 0, got ""/);
});

test("train with a reward module and --set, then eval and generate", () => {
  const dir = makeTempDir("clp-cli-module-");
  mkdirSync(join(dir, "rewards"));
  writeFileSync(join(dir, "rewards", "length.mjs"), `export default {
  name: "char-length",
  description: "summary length in characters / 100, capped at 1",
  range: [0, 1],
  higherIsBetter: true,
  score: ({ summary }) => Math.min(1, summary.length / 100),
};
`);
  const config = join(dir, "tiny.json");
  writeFileSync(config, JSON.stringify({
    objectives: ["char-length", "brevity"],
    rewardModules: ["rewards/length.mjs"],
    data: { maxSourceTokens: 48, trainLimit: 64 },
    calibration: { prompts: 4, samplesPerPrompt: 2 },
    rl: { steps: 1, promptsPerStep: 2, samplesPerPrompt: 2, maxNewTokens: 6 },
    eval: { prompts: 4, maxNewTokens: 6, divisions: 1 },
  }));
  const runDir = join(dir, "run");
  const trained = clp("train", "--config", config, "--run-dir", runDir, "--set", "conditioning.variant=lora", "--set", "rl.steps=2", "--no-eval", "--quiet");
  assert.equal(trained.status, 0, trained.stderr);
  const saved = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as { conditioning: { variant: string }; rl: { steps: number }; rewardModules: string[] };
  assert.equal(saved.conditioning.variant, "lora");
  assert.equal(saved.rl.steps, 2);
  assert.equal(saved.rewardModules[0], join(dir, "rewards", "length.mjs"));
  // The run folder works from another working directory: module paths were stored resolved.
  const evaluated = spawnSync(process.execPath, [join(process.cwd(), "bin/clp.js"), "eval", "--run", runDir, "--quiet"], { encoding: "utf8", cwd: tmpdir() });
  assert.equal(evaluated.status, 0, evaluated.stderr);
  assert.match(evaluated.stdout, /char-length/);
  const front = JSON.parse(readFileSync(join(runDir, "front.json"), "utf8")) as { format: string; method: string; points: { weights: number[]; perPrompt: number[][] }[] };
  assert.equal(front.format, "clp-eval/1");
  assert.equal(front.method, "clp");
  assert.deepEqual(front.points.map((p) => p.weights), [[1, 0], [0, 1]]);
  assert.equal(front.points[0]!.perPrompt.length, 4);
  // A second evaluation reads every point back from the cache, with identical numbers.
  const again = clp("eval", "--run", runDir, "--quiet");
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /\(3 read from .*eval-cache\)/);
  assert.deepEqual(JSON.parse(readFileSync(join(runDir, "front.json"), "utf8")).points, front.points);
  // A grid file replaces the lattice.
  writeFileSync(join(dir, "grid.csv"), "char-length,brevity\n0.25,0.75\n");
  const gridded = clp("eval", "--run", runDir, "--grid", join(dir, "grid.csv"), "--out", join(dir, "grid-eval"), "--quiet");
  assert.equal(gridded.status, 0, gridded.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "grid-eval", "front.json"), "utf8")).points.map((p: { weights: number[] }) => p.weights), [[0.25, 0.75]]);
  // A grid without vertices has no steering check to make.
  assert.match(gridded.stdout, /^steering char-length: not checked, because the grid lacks its vertex or every other vertex$/m);
  writeFileSync(join(dir, "bad-grid.csv"), "0.3,0.3\n");
  assert.match(clp("eval", "--run", runDir, "--grid", join(dir, "bad-grid.csv")).stderr, new RegExp(`^clp: --grid ${join(dir, "bad-grid.csv")}: weight grid line 1`));
  assert.match(clp("eval", "--run", runDir, "--grid", dir).stderr, new RegExp(`^clp: --grid ${dir} is not a file; name a text or JSON file of weight rows`));
  const generated = clp("generate", "--run", runDir, "--weights", "0,1", "--text", "A command-line tool that converts images between formats.", "--max-new-tokens", "6");
  assert.equal(generated.status, 0, generated.stderr);
  assert.ok(generated.stdout.trim().length > 0);
  assert.equal(generated.stderr, "");
  // A length beyond the model's context is capped, with a note.
  const long = clp("generate", "--run", runDir, "--weights", "0,1", "--text", "A tool.", "--max-new-tokens", "5000");
  assert.equal(long.status, 0, long.stderr);
  assert.match(long.stderr, /^clp generate: --max-new-tokens 5000 does not fit in the model's context after the prompt; generated at most \d+ tokens\n$/);

  // --overwrite deletes only run folders, and only after the config checks pass.
  const precious = join(dir, "precious");
  mkdirSync(precious);
  writeFileSync(join(precious, "thesis.txt"), "keep me");
  const refused = clp("train", "--config", config, "--run-dir", precious, "--overwrite");
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /--overwrite deletes only run folders written by clp train/);
  assert.equal(readFileSync(join(precious, "thesis.txt"), "utf8"), "keep me");
  const unknownReward = clp("train", "--config", config, "--run-dir", runDir, "--overwrite", "--set", 'objectives=["coverage","nosuch"]');
  assert.match(unknownReward.stderr, /unknown reward "nosuch"/);
  assert.ok(readFileSync(join(runDir, "config.json"), "utf8").length > 0, "the earlier run is still there");
  assert.match(clp("generate", "--run", runDir, "--weights", "0,1", "--file", join(dir, "missing.txt")).stderr, /^clp: ENOENT: no such file or directory/);
  assert.match(clp("eval", "--run", runDir, "--samples", "0").stderr, /--samples must be an integer ≥ 1/);

  const badSet = clp("train", "--config", config, "--run-dir", join(dir, "other"), "--set", "conditioning.colour=blue");
  assert.match(badSet.stderr, /unknown field "conditioning\.colour"/);
  assert.match(clp("train", "--config", config, "--set", "novalue").stderr, /--set needs KEY=VALUE/);
  assert.match(clp("train", "--config", config, "--set", "__proto__.x=1").stderr, /does not name a config field/);
  writeFileSync(config, JSON.stringify({ rewardModules: ["rewards/missing.mjs"] }));
  const missing = clp("train", "--config", config, "--run-dir", join(dir, "third"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /missing\.mjs/);
  assert.doesNotMatch(missing.stderr, /unexpected error/);
});
