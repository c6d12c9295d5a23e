import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
  const dir = mkdtempSync(join(tmpdir(), "clp-cli-"));
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
  const dir = mkdtempSync(join(tmpdir(), "clp-cli-"));
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
  assert.match(again.stderr, /run folder .*used already holds files; choose another --run-dir, or remove it \(clp train --overwrite\)/);
  assert.equal(readFileSync(join(used, "config.json"), "utf8"), "{}");
});

test("generate rejects zero tokens and hex weights", () => {
  const zero = clp("generate", "--checkpoint", "models/ref", "--weights", "1,0", "--text", "x", "--max-new-tokens", "0");
  assert.match(zero.stderr, /^clp: --max-new-tokens must be an integer ≥ 1, got "0"/);
  const empty = clp("train", "--config", "configs/default.json", "--steps", "");
  assert.match(empty.stderr, /^clp: --steps must be an integer ≥ 0, got ""/);
});
