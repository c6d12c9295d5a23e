// Tests of loading user reward modules named in a config: path resolution, the batch form, and the
// errors for a missing file, an invalid export, TypeScript sources and name clashes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import {
  coverage,
  getReward,
  loadRewardModules,
  RewardModuleError,
  RewardRegistry,
  scoreAll,
} from "../src/rewards/index.js";

/** A module with a batch form that counts its calls, so a test can tell which path ran. */
const BATCH_MODULE = `
export const calls = { score: 0, scoreBatch: 0 };

function wordShare(summary) {
  const words = summary.split(/\\s+/).filter((word) => word !== "").length;
  return Math.min(1, words / 10);
}

export default {
  name: "test-word-share",
  description: "Summary word count over 10, capped at 1.",
  range: [0, 1],
  higherIsBetter: true,
  score({ summary }) {
    calls.score += 1;
    return wordShare(summary);
  },
  scoreBatch(inputs) {
    calls.scoreBatch += 1;
    return inputs.map(({ summary }) => wordShare(summary));
  },
};
`;

function constantModule(name: string, value: number): string {
  return `export default {
  name: ${JSON.stringify(name)},
  description: "always ${value}",
  range: [0, 1],
  higherIsBetter: true,
  score: () => ${value},
};
`;
}

function withTempDir(action: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "clp-reward-modules-test-"));
  return action(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function writeModule(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** Asserts that `promise` rejects with a RewardModuleError whose message matches every pattern. */
async function assertModuleError(
  promise: Promise<unknown>,
  modulePath: string,
  patterns: RegExp[],
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RewardModuleError, `expected a RewardModuleError, got ${error}`);
    assert.equal(error.modulePath, modulePath);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const INPUTS = [
  { source: "s", summary: "one two three" },
  { source: "s", summary: "" },
  { source: "s", summary: "a b c d e f g h i j k l" },
];

test("loadRewardModules uses batch form", () =>
  withTempDir(async (dir) => {
    const path = writeModule(dir, "rewards/word-share.mjs", BATCH_MODULE);
    const loaded = await loadRewardModules(["rewards/word-share.mjs"], dir);
    assert.deepEqual(loaded.map((reward) => reward.name), ["test-word-share"]);
    const reward = getReward("test-word-share");
    assert.equal(reward, loaded[0]);

    assert.deepEqual(scoreAll([coverage, reward], INPUTS), [
      [0, 3 / 10],
      [0, 0],
      [0, 1],
    ]);
    const module = (await import(pathToFileURL(path).href)) as {
      calls: { score: number; scoreBatch: number };
    };
    assert.equal(module.calls.scoreBatch, 1);
    assert.equal(module.calls.score, 0);
  }));

test("loadModules resolves config folder first", () =>
  withTempDir(async (dir) => {
    const configDir = join(dir, "config");
    const workDir = join(dir, "work");
    writeModule(configDir, "reward.mjs", constantModule("test-from-config", 0.25));
    writeModule(workDir, "reward.mjs", constantModule("test-from-cwd", 0.75));
    writeModule(workDir, "only-cwd.mjs", constantModule("test-only-cwd", 0.5));
    const previous = process.cwd();
    process.chdir(workDir);
    try {
      const registry = new RewardRegistry([]);
      const loaded = await registry.loadModules(["reward.mjs", "only-cwd.mjs"], configDir);
      assert.deepEqual(loaded.map((reward) => reward.name), ["test-from-config", "test-only-cwd"]);
      assert.deepEqual(registry.names(), ["test-from-config", "test-only-cwd"]);
    } finally {
      process.chdir(previous);
    }
  }));

test("loadModules accepts absolute and cwd paths", () =>
  withTempDir(async (dir) => {
    const path = writeModule(dir, "absolute.mjs", constantModule("test-absolute", 0));
    const registry = new RewardRegistry([]);
    await registry.loadModules([path], join(dir, "elsewhere"));
    assert.deepEqual(registry.names(), ["test-absolute"]);

    const fromCwd = writeModule(dir, "from-cwd.mjs", constantModule("test-from-cwd-path", 0));
    await registry.loadModules([relative(process.cwd(), fromCwd)], join(dir, "elsewhere"));
    assert.deepEqual(registry.names(), ["test-absolute", "test-from-cwd-path"]);
  }));

test("loadModules again is a no-op", () =>
  withTempDir(async (dir) => {
    writeModule(dir, "constant.mjs", constantModule("test-again", 0.5));
    const registry = new RewardRegistry([]);
    const first = await registry.loadModules(["constant.mjs"], dir);
    const second = await registry.loadModules(["constant.mjs", "constant.mjs"], dir);
    assert.equal(second.length, 1);
    assert.equal(second[0], first[0]);
    assert.deepEqual(registry.names(), ["test-again"]);
  }));

test("loadModules loads CommonJS output of tsc", () =>
  withTempDir(async (dir) => {
    const text = [
      `"use strict";`,
      `Object.defineProperty(exports, "__esModule", { value: true });`,
      `exports.default = { name: "test-cjs", description: "d", range: [0, 1],`,
      `  higherIsBetter: true, score: () => 1 };`,
    ].join("\n");
    writeModule(dir, "compiled.cjs", text);
    const registry = new RewardRegistry([]);
    await registry.loadModules(["compiled.cjs"], dir);
    assert.equal(registry.get("test-cjs").score({ source: "", summary: "" }), 1);
  }));

test("loadModules missing file names paths", () =>
  withTempDir(async (dir) => {
    const registry = new RewardRegistry([]);
    await assertModuleError(registry.loadModules(["absent.mjs"], dir), "absent.mjs", [
      /reward module "absent\.mjs" not found/,
      new RegExp(`no file at ${join(dir, "absent.mjs")} or ${join(process.cwd(), "absent.mjs")}`),
      /fix the path/,
    ]);
    mkdirSync(join(dir, "folder.mjs"));
    await assertModuleError(registry.loadModules(["folder.mjs"], dir), "folder.mjs", [
      /not found/,
    ]);
    await assertModuleError(registry.loadModules([""], dir), "", [/path is empty/]);
  }));

test("loadModules rejects invalid exports", () =>
  withTempDir(async (dir) => {
    writeModule(dir, "good.mjs", constantModule("test-good", 0));
    writeModule(dir, "named.mjs", "export const reward = {};\n");
    writeModule(dir, "no-score.mjs", constantModule("test-no-score", 0).replace("score:", "x:"));
    writeModule(dir, "empty.mjs", "export default [];\n");
    writeModule(dir, "nan-range.mjs", constantModule("test-range", 0).replace("[0, 1]", "[1, 0]"));
    const registry = new RewardRegistry([]);
    const cases: [string, RegExp][] = [
      ["named.mjs", /named\.mjs: missing default export; export default a RewardFunction/],
      ["no-score.mjs", /reward "test-no-score" has invalid or missing field "score"/],
      ["empty.mjs", /default export is an empty array; export at least one reward/],
      ["nan-range.mjs", /field "range": expected \[min, max\] with min < max/],
    ];
    for (const [file, pattern] of cases) {
      await assertModuleError(registry.loadModules(["good.mjs", file], dir), file, [pattern]);
    }
    assert.deepEqual(registry.names(), []);
  }));

test("loadModules rejects TypeScript and other files", () =>
  withTempDir(async (dir) => {
    writeModule(dir, "reward.ts", constantModule("test-ts", 0));
    writeModule(dir, "reward.json", "{}\n");
    const registry = new RewardRegistry([]);
    await assertModuleError(registry.loadModules(["reward.ts"], dir), "reward.ts", [
      /failed to import reward module .*reward\.ts: Node v\d+.* cannot import TypeScript/,
      /compile the module first, e\.g\. `npx tsc --module es2022/,
    ]);
    await assertModuleError(registry.loadModules(["reward.json"], dir), "reward.json", [
      /unsupported reward module extension "\.json"; a reward module must be JavaScript/,
    ]);
  }));

test("loadModules rejects ESM syntax in CommonJS", () =>
  withTempDir(async (dir) => {
    writeModule(dir, "package.json", `{ "type": "commonjs" }\n`);
    writeModule(dir, "esm.js", constantModule("test-esm-in-cjs", 0));
    const registry = new RewardRegistry([]);
    await assertModuleError(registry.loadModules(["esm.js"], dir), "esm.js", [
      /rename it to \.mjs or set "type": "module" in the nearest package\.json/,
    ]);
  }));

test("loadModules rejects name clashes", () =>
  withTempDir(async (dir) => {
    writeModule(dir, "coverage.mjs", constantModule("coverage", 0));
    writeModule(dir, "a.mjs", constantModule("test-dup", 0));
    writeModule(dir, "b.mjs", constantModule("test-dup", 1));
    const registry = new RewardRegistry();
    await assertModuleError(registry.loadModules(["coverage.mjs"], dir), "coverage.mjs", [
      /coverage\.mjs: reward "coverage" has the same name as a built-in reward; rename it/,
    ]);
    assert.equal(registry.get("coverage"), coverage);

    await assertModuleError(registry.loadModules(["a.mjs", "b.mjs"], dir), "b.mjs", [
      /b\.mjs: reward "test-dup" is also exported by .*a\.mjs; rename one of them/,
    ]);
    assert.equal(registry.has("test-dup"), false);

    await registry.loadModules(["a.mjs"], dir);
    await assertModuleError(registry.loadModules(["b.mjs"], dir), "b.mjs", [
      /a reward named "test-dup" is already registered \(from .*a\.mjs\); rename it/,
    ]);
    assert.equal(registry.get("test-dup").score({ source: "", summary: "" }), 0);
  }));
