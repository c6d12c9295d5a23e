// Tests of the reward functions, their registry, batch scoring and normalisation.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  brevity,
  coverage,
  createBrevity,
  createCoverage,
  faithfulness,
  form,
  FORM_CHECKS,
  formFaults,
  getReward,
  lcsLength,
  listRewards,
  loadRewardModule,
  registerReward,
  rouge1,
  rougeL,
  RewardError,
  RewardModuleError,
  RewardNormalizer,
  RewardRegistry,
  salientStems,
  scoreAll,
  stem,
  tokenize,
  type RewardFunction,
  type RewardInput,
} from "../src/rewards/index.js";

const BUILTIN_NAMES = ["coverage", "brevity", "faithfulness", "form", "rougeL", "rouge1"];

function constantReward(name: string, value: number): RewardFunction {
  return {
    name,
    description: `always ${value}`,
    range: [0, 1],
    higherIsBetter: true,
    score: () => value,
  };
}

function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), "clp-rewards-test-"));
}

// Text normalisation

test("tokenize lowercases and splits on punctuation", () => {
  assert.deepEqual(tokenize("libFoo-dev: C++ bindings (v2.1)"), [
    "libfoo", "dev", "c", "bindings", "v2", "1",
  ]);
  assert.deepEqual(tokenize(" ... "), []);
  assert.deepEqual(tokenize("Größe café"), ["größe", "café"]);
});

test("stem maps word families together", () => {
  const families = [
    ["parse", "parser", "parsers", "parsing", "parsed"],
    ["library", "libraries"],
    ["compress", "compressed", "compression"],
    ["develop", "development", "developers"],
    ["map", "mapping", "mapped", "maps"],
    ["configure", "configuration", "configurable"],
    ["graphic", "graphics", "graphical"],
  ];
  for (const family of families) {
    const stems = new Set(family.map(stem));
    assert.equal(stems.size, 1, `${family.join(", ")} gave ${[...stems].join(", ")}`);
  }
});

test("stem leaves short and protected words", () => {
  assert.equal(stem("string"), "string");
  assert.equal(stem("status"), "status");
  assert.equal(stem("install"), "install");
  assert.equal(stem("x86_64"), "x86_64");
  assert.equal(stem("gtk"), "gtk");
});

// Coverage

const PARSER_SOURCE = "Parser library for JSON. The parser is fast.";

test("salientStems weights frequency and earliness", () => {
  // Content stems in order: pars, library, json, pars, fast (n = 5).
  assert.deepEqual(salientStems(PARSER_SOURCE, 10), [
    { stem: "pars", weight: 2 + (1 - 0 / 5) },
    { stem: "library", weight: 1 + (1 - 1 / 5) },
    { stem: "json", weight: 1 + (1 - 2 / 5) },
    { stem: "fast", weight: 1 + (1 - 4 / 5) },
  ]);
});

test("coverage fixed cases", () => {
  const total = 3 + 1.8 + 1.6 + 1.2;
  const score = (summary: string) => coverage.score({ source: PARSER_SOURCE, summary });
  assert.equal(score("fast JSON parsing"), (3 + 1.6 + 1.2) / total);
  assert.equal(score("a JSON library"), (1.8 + 1.6) / total);
  assert.equal(score("parser library for JSON, which is fast"), 1);
  assert.equal(score("unrelated words"), 0);
  const topTwo = createCoverage({ topK: 2 });
  const topTwoScore = topTwo.score({ source: PARSER_SOURCE, summary: "fast JSON parsing" });
  assert.equal(topTwoScore, 3 / (3 + 1.8));
});

test("coverage ignores description boilerplate", () => {
  const source = "This package provides a parser.";
  // Content words: package, provides, parser (n = 3); only parser is kept.
  assert.deepEqual(salientStems(source, 10), [{ stem: "pars", weight: 1 + (1 - 2 / 3) }]);
  assert.equal(coverage.score({ source, summary: "package" }), 0);
  assert.equal(coverage.score({ source, summary: "parser" }), 1);
});

test("coverage empty summary and source", () => {
  assert.equal(coverage.score({ source: PARSER_SOURCE, summary: "" }), 0);
  assert.equal(coverage.score({ source: "", summary: "parser" }), 0);
  assert.equal(coverage.score({ source: "the and of", summary: "the" }), 0);
});

test("createCoverage rejects invalid topK", () => {
  assert.throws(() => createCoverage({ topK: 0 }), /topK must be a positive integer, got 0/);
});

// Brevity

test("brevity fixed cases", () => {
  const score = (summary: string) => brevity.score({ source: "", summary });
  assert.equal(score("one"), 1 / (1 + (1 / 8) ** 2));
  assert.equal(score("one two three four"), 1 / (1 + (4 / 8) ** 2));
  assert.equal(score("a b c d e f g h"), 1 / 2);
  assert.equal(score("C++ bindings for the GTK+ toolkit"), 1 / (1 + (6 / 8) ** 2));
  const short = createBrevity({ targetWords: 2 });
  assert.equal(short.score({ source: "", summary: "one two" }), 1 / 2);
});

test("brevity empty summary scores zero", () => {
  assert.equal(brevity.score({ source: "x", summary: "" }), 0);
  assert.equal(brevity.score({ source: "x", summary: "  ...!? " }), 0);
});

test("brevity decreases with length", () => {
  let previous = Infinity;
  for (let n = 1; n <= 80; n++) {
    const value = brevity.score({ source: "", summary: "word ".repeat(n) });
    assert.ok(value < previous, `brevity(${n}) = ${value} is not below brevity(${n - 1})`);
    previous = value;
  }
});

test("createBrevity rejects invalid target", () => {
  assert.throws(() => createBrevity({ targetWords: 0 }), /targetWords must be a positive number/);
});

// Faithfulness

test("faithfulness fixed cases", () => {
  const source = "A fast parser for JSON documents.";
  const score = (summary: string) => faithfulness.score({ source, summary });
  // Content words: fast, xml, parser, and only fast and parser occur in the source.
  assert.equal(score("a fast XML parser"), 2 / 3);
  assert.equal(score("parsing JSON"), 1);
  assert.equal(score("parser parser yaml"), 2 / 3);
  assert.equal(score("yaml toml"), 0);
});

test("faithfulness empty or stopword summary", () => {
  assert.equal(faithfulness.score({ source: "fast parser", summary: "" }), 0);
  assert.equal(faithfulness.score({ source: "fast parser", summary: "the and of" }), 0);
});

// Form

test("form fixed cases", () => {
  const score = (summary: string) => form.score({ source: PARSER_SOURCE, summary });
  const checks = FORM_CHECKS.length;
  assert.equal(checks, 10);
  assert.equal(score("fast JSON parser library"), 1);
  assert.equal(score("parser"), (checks - 1) / checks);
  assert.equal(score("The fast parser."), (checks - 2) / checks);
  assert.equal(score("Foo is a fast parser for"), (checks - 2) / checks);
  assert.equal(score("library library for C"), (checks - 1) / checks);
  assert.equal(score("bindings " + "x".repeat(80)), (checks - 1) / checks);
  assert.equal(score("fast json parser library tool daemon server client"), (checks - 1) / checks);
  assert.equal(score("TL;DR: parser for JSON\uFFFD"), (checks - 1) / checks);
});

test("formFaults names each fault", () => {
  const cases: [string, string[]][] = [
    ["parser", ["single word"]],
    ["The parser library.", ["initial article", "final full stop"]],
    ["an XML parser", ["initial article"]],
    ["JSON parser " + "y".repeat(70), ["over 80 characters"]],
    ["Parser library. Fast tools", ["complete sentence"]],
    ["Foo is a parser", ["complete sentence"]],
    ["fast json parser library tool daemon server client", ["keyword list"]],
    ["tool (for C", ["unbalanced brackets"]],
    ["tool for C)", ["unbalanced brackets"]],
    ["tool [for C)", ["unbalanced brackets"]],
    ["dictionary for the dict server/", ["unfinished ending"]],
    ["parser library for", ["unfinished ending"]],
    ["office suite -", ["unfinished ending"]],
    ["file File processing", ["repeated word"]],
    ["parser\nlibrary", ["prompt or decoding leftover"]],
    ["parser <|endoftext|> library", ["prompt or decoding leftover"]],
  ];
  for (const [summary, faults] of cases) {
    assert.deepEqual(formFaults(summary), faults, JSON.stringify(summary));
  }
});

test("form accepts real synopses", () => {
  const synopses = [
    "Tcl interfaces for adns, cdb, crypto, etc.",
    "tools for e.g. parsing",
    "Firefox add-on",
    "GTK+ bindings for C/C++",
    "A-A-P build tool",
    "simple exemplification system (utilities)",
    "GNU Standard C++ Library v3 (mipsr6) (64bit)",
    "office productivity suite -- German help",
    "Global navigation satellite systems software defined receiver",
  ];
  for (const summary of synopses) {
    assert.deepEqual(formFaults(summary), [], summary);
    assert.equal(form.score({ source: "", summary }), 1, summary);
  }
});

test("form empty summary scores zero", () => {
  assert.equal(form.score({ source: PARSER_SOURCE, summary: "" }), 0);
  assert.equal(form.score({ source: PARSER_SOURCE, summary: "  ...!? " }), 0);
});

// ROUGE

test("lcsLength fixed cases", () => {
  assert.equal(lcsLength(["a", "b", "c", "d"], ["b", "d"]), 2);
  assert.equal(lcsLength(["a", "b"], []), 0);
  assert.equal(lcsLength(["x", "a", "y", "b"], ["a", "b", "x"]), 2);
});

test("rougeL and rouge1 fixed cases", () => {
  const input = { source: "", summary: "mat the cat", reference: "The cat mat." };
  // LCS is "the cat" (2 words); F1 = 2 * 2 / (3 + 3).
  assert.equal(rougeL.score(input), (2 * 2) / (3 + 3));
  // All 3 words overlap; F1 = 2 * 3 / (3 + 3).
  assert.equal(rouge1.score(input), 1);
  const partial = { source: "", summary: "the the cat", reference: "the cat sat on a mat" };
  // Clipped overlap: "the" once and "cat" once.
  assert.equal(rouge1.score(partial), (2 * 2) / (3 + 6));
  assert.equal(rougeL.score(partial), (2 * 2) / (3 + 6));
});

test("rougeL empty summary or reference", () => {
  assert.equal(rougeL.score({ source: "", summary: "", reference: "a b" }), 0);
  assert.equal(rougeL.score({ source: "", summary: "a b", reference: "" }), 0);
  assert.equal(rouge1.score({ source: "", summary: "", reference: "" }), 0);
});

test("rougeL missing reference names reward", () => {
  assert.throws(
    () => rougeL.score({ source: "s", summary: "t" }),
    (error: unknown) =>
      error instanceof RewardError &&
      error.rewardName === "rougeL" &&
      /reward "rougeL" requires a reference summary/.test(error.message),
  );
});

// Ranges on random text

function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCXYZ 0123456789 .,;:-+()'\"\n\té漢ß";
const WORDS = ["parser", "library", "the", "fast", "json", "tools", "of", "files", "x86", "C++"];

function randomText(random: () => number, maxLength: number): string {
  const length = Math.floor(random() * maxLength);
  let text = "";
  for (let i = 0; i < length; i++) {
    if (random() < 0.5) {
      text += ALPHABET[Math.floor(random() * ALPHABET.length)] ?? "";
    } else {
      text += (WORDS[Math.floor(random() * WORDS.length)] ?? "") + " ";
    }
  }
  return text;
}

test("builtin rewards stay in range", () => {
  const random = makeRandom(12345);
  const inputs: RewardInput[] = [];
  for (let i = 0; i < 500; i++) {
    inputs.push({
      source: randomText(random, 200),
      summary: randomText(random, 30),
      reference: randomText(random, 15),
    });
  }
  for (const reward of listRewards().filter((r) => BUILTIN_NAMES.includes(r.name))) {
    for (const input of inputs) {
      const value = reward.score(input);
      assert.ok(Number.isFinite(value), `${reward.name} gave ${value}`);
      assert.ok(value >= reward.range[0], `${reward.name} gave ${value} below its range`);
      assert.ok(value <= reward.range[1], `${reward.name} gave ${value} above its range`);
    }
  }
});

test("builtin rewards are deterministic", () => {
  const input = { source: PARSER_SOURCE, summary: "fast JSON parser", reference: "JSON parser" };
  for (const name of BUILTIN_NAMES) {
    const reward = getReward(name);
    assert.equal(reward.score(input), reward.score({ ...input }), name);
  }
});

test("empty summary scores minimum everywhere", () => {
  const input = { source: PARSER_SOURCE, summary: "", reference: "JSON parser" };
  for (const name of BUILTIN_NAMES) {
    const reward = getReward(name);
    assert.equal(reward.score(input), reward.range[0], name);
  }
});

// Batch scoring

const SAMPLES: RewardInput[] = [
  { source: PARSER_SOURCE, summary: "fast JSON parser" },
  { source: PARSER_SOURCE, summary: "" },
  { source: PARSER_SOURCE, summary: "a library" },
];

test("scoreAll returns sample-major matrix", () => {
  const scores = scoreAll([coverage, brevity], SAMPLES);
  assert.equal(scores.length, 3);
  SAMPLES.forEach((input, i) => {
    assert.deepEqual(scores[i], [coverage.score(input), brevity.score(input)]);
  });
  assert.deepEqual(scoreAll([], SAMPLES), [[], [], []]);
  assert.deepEqual(scoreAll([coverage], []), []);
});

test("scoreAll uses scoreBatch when present", () => {
  let batchCalls = 0;
  const batched: RewardFunction = {
    ...constantReward("batched", 0.5),
    scoreBatch(inputs) {
      batchCalls += 1;
      return inputs.map((_, i) => i / 10);
    },
  };
  assert.deepEqual(scoreAll([batched], SAMPLES), [[0], [0.1], [0.2]]);
  assert.equal(batchCalls, 1);
});

function assertRewardError(
  action: () => unknown,
  expected: { rewardName: string; sampleIndex: number | undefined; message: RegExp },
): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof RewardError, `expected a RewardError, got ${String(error)}`);
    assert.equal(error.rewardName, expected.rewardName);
    assert.equal(error.sampleIndex, expected.sampleIndex);
    assert.match(error.message, expected.message);
    return true;
  });
}

test("scoreAll throwing reward names sample", () => {
  const failing: RewardFunction = {
    ...constantReward("fragile", 0),
    score: ({ summary }) => {
      if (summary === "a library") throw new Error("cannot score libraries");
      return 0;
    },
  };
  assertRewardError(() => scoreAll([coverage, failing], SAMPLES), {
    rewardName: "fragile",
    sampleIndex: 2,
    message: /reward "fragile" failed on sample 2 \(summary "a library"\): cannot score libraries/,
  });
  try {
    scoreAll([failing], SAMPLES);
    assert.fail("expected a RewardError");
  } catch (error) {
    assert.ok(error instanceof RewardError);
    assert.equal(error.summary, "a library");
    assert.ok(error.cause instanceof Error);
  }
});

test("scoreAll NaN reward names sample", () => {
  const nan: RewardFunction = {
    ...constantReward("nan", 0),
    score: ({ summary }) => (summary === "" ? Number.NaN : 0.5),
  };
  assertRewardError(() => scoreAll([nan], SAMPLES), {
    rewardName: "nan",
    sampleIndex: 1,
    message: /reward "nan" returned the non-finite value NaN for sample 1 \(summary ""\)/,
  });
});

test("scoreAll rejects invalid values", () => {
  assertRewardError(() => scoreAll([constantReward("big", 2)], SAMPLES), {
    rewardName: "big",
    sampleIndex: 0,
    message: /returned 2, outside its declared range \[0, 1\] for sample 0/,
  });
  assertRewardError(() => scoreAll([constantReward("inf", Infinity)], SAMPLES), {
    rewardName: "inf",
    sampleIndex: 0,
    message: /non-finite value Infinity/,
  });
  const text = { ...constantReward("text", 0), score: () => "0.5" as unknown as number };
  assertRewardError(() => scoreAll([text], SAMPLES), {
    rewardName: "text",
    sampleIndex: 0,
    message: /returned a string instead of a number/,
  });
});

test("scoreAll truncates long summaries", () => {
  const long = "word ".repeat(100);
  try {
    scoreAll([constantReward("nan", Number.NaN)], [{ source: "", summary: long }]);
    assert.fail("expected a RewardError");
  } catch (error) {
    assert.ok(error instanceof RewardError);
    assert.equal(error.summary?.length, 80);
    assert.ok(error.summary?.endsWith("…"));
    assert.ok(!error.message.includes(long));
  }
});

test("scoreAll locates scoreBatch failures", () => {
  const batchFails: RewardFunction = {
    ...constantReward("batch", 0),
    score: ({ summary }) => {
      if (summary === "") throw new Error("empty");
      return 0;
    },
    scoreBatch: () => {
      throw new Error("batch failed");
    },
  };
  assertRewardError(() => scoreAll([batchFails], SAMPLES), {
    rewardName: "batch",
    sampleIndex: 1,
    message: /failed on sample 1/,
  });
  const onlyBatchFails = { ...batchFails, score: () => 0 };
  assertRewardError(() => scoreAll([onlyBatchFails], SAMPLES), {
    rewardName: "batch",
    sampleIndex: undefined,
    message: /failed in scoreBatch on 3 samples, although score succeeds on each of them/,
  });
  const short = { ...constantReward("short", 0), scoreBatch: () => [0] };
  assertRewardError(() => scoreAll([short], SAMPLES), {
    rewardName: "short",
    sampleIndex: undefined,
    message: /scoreBatch returned 1 values for 3 samples/,
  });
  const nanBatch = { ...constantReward("nanBatch", 0), scoreBatch: () => [0, 0, Number.NaN] };
  assertRewardError(() => scoreAll([nanBatch], SAMPLES), {
    rewardName: "nanBatch",
    sampleIndex: 2,
    message: /non-finite value NaN for sample 2/,
  });
});

// Registry

test("registry lists builtin rewards", () => {
  const names = listRewards().map((reward) => reward.name);
  assert.deepEqual(names.slice(0, BUILTIN_NAMES.length), BUILTIN_NAMES);
  for (const name of BUILTIN_NAMES) {
    const reward = getReward(name);
    assert.equal(reward.name, name);
    assert.equal(reward.higherIsBetter, true);
    assert.ok(reward.description.length > 0);
  }
});

test("registry unknown name lists available", () => {
  assert.throws(
    () => getReward("nope"),
    /unknown reward "nope"; available rewards: coverage, brevity/,
  );
});

test("registry rejects duplicate names", () => {
  const registry = new RewardRegistry();
  assert.throws(
    () => registry.register(constantReward("coverage", 0)),
    /a reward named "coverage" is already registered/,
  );
  registry.register(constantReward("coverage", 0), { replace: true });
  assert.equal(registry.get("coverage").description, "always 0");
  assert.equal(getReward("coverage"), coverage);
});

test("registry validates contract fields", () => {
  const registry = new RewardRegistry([]);
  const valid = constantReward("valid", 0);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...valid, name: "" }, /invalid or missing field "name"/],
    [{ ...valid, description: undefined }, /reward "valid" has invalid or missing field "descr/],
    [{ ...valid, range: [1, 0] }, /field "range"/],
    [{ ...valid, range: [0, Number.NaN] }, /field "range"/],
    [{ ...valid, higherIsBetter: false }, /"higherIsBetter": expected true, got boolean false/],
    [{ ...valid, score: 3 }, /field "score": expected a function/],
    [{ ...valid, scoreBatch: "fast" }, /field "scoreBatch"/],
  ];
  for (const [candidate, pattern] of cases) {
    assert.throws(() => registry.register(candidate as unknown as RewardFunction), pattern);
  }
  assert.deepEqual(registry.names(), []);
  registry.register({ ...valid, range: [-Infinity, Infinity] });
  assert.deepEqual(registry.names(), ["valid"]);
});

test("registerReward adds to default registry", () => {
  registerReward(constantReward("test-constant", 0.25));
  assert.equal(getReward("test-constant").score({ source: "", summary: "" }), 0.25);
});

// User reward modules

const SINGLE_MODULE = `
export default {
  name: "test-length",
  description: "Summary length in characters, capped at 100.",
  range: [0, 100],
  higherIsBetter: true,
  score: ({ summary }) => Math.min(100, summary.length),
};
`;

const ARRAY_MODULE = `
const base = { description: "constant", range: [0, 1], higherIsBetter: true };
export default [
  { ...base, name: "test-zero", score: () => 0 },
  { ...base, name: "test-one", score: () => 1 },
];
`;

const MISSING_SCORE_MODULE = `
export default {
  name: "test-broken",
  description: "no score",
  range: [0, 1],
  higherIsBetter: true,
};
`;

test("loadRewardModule loads single reward", async () => {
  const dir = makeTempDir();
  try {
    const path = join(dir, "length.mjs");
    writeFileSync(path, SINGLE_MODULE);
    const loaded = await loadRewardModule(path);
    assert.deepEqual(loaded.map((reward) => reward.name), ["test-length"]);
    assert.equal(getReward("test-length").score({ source: "", summary: "abc" }), 3);
    assert.deepEqual(scoreAll([getReward("test-length")], [{ source: "", summary: "ab" }]), [[2]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loadModule loads reward array", async () => {
  const dir = makeTempDir();
  try {
    const path = join(dir, "constants.mjs");
    writeFileSync(path, ARRAY_MODULE);
    const registry = new RewardRegistry();
    const loaded = await registry.loadModule(path);
    assert.deepEqual(loaded.map((reward) => reward.name), ["test-zero", "test-one"]);
    assert.equal(registry.get("test-one").score({ source: "", summary: "" }), 1);
    await assert.rejects(
      registry.loadModule(path),
      /a reward named "test-zero" is already registered/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loadModule names file and field", async () => {
  const dir = makeTempDir();
  try {
    const registry = new RewardRegistry();
    const broken = join(dir, "broken.mjs");
    writeFileSync(broken, MISSING_SCORE_MODULE);
    await assert.rejects(registry.loadModule(broken), (error: unknown) => {
      assert.ok(error instanceof RewardModuleError);
      assert.ok(error.message.includes(broken), error.message);
      assert.match(error.message, /reward "test-broken" has invalid or missing field "score"/);
      return true;
    });
    assert.equal(registry.has("test-broken"), false);

    const noDefault = join(dir, "named.mjs");
    writeFileSync(noDefault, "export const reward = {};\n");
    await assert.rejects(registry.loadModule(noDefault), /named\.mjs: missing default export/);

    const arrayWithBroken = join(dir, "mixed.mjs");
    writeFileSync(arrayWithBroken, ARRAY_MODULE.replace(`name: "test-one", `, ""));
    await assert.rejects(registry.loadModule(arrayWithBroken), /mixed\.mjs \[1\]: .*field "name"/);
    assert.equal(registry.has("test-zero"), false);

    await assert.rejects(
      registry.loadModule(join(dir, "absent.mjs")),
      /failed to import reward module .*absent\.mjs/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Normalisation

const NAMES = ["coverage", "brevity"];

test("normalizer fit and normalize", () => {
  const normalizer = RewardNormalizer.fit(NAMES, [
    [1, 10],
    [3, 30],
  ]);
  assert.deepEqual(normalizer.mean, [2, 20]);
  assert.deepEqual(normalizer.std, [1, 10]);
  assert.deepEqual(normalizer.normalize([[3, 30], [2, 0]]), [
    [(3 - 2) / 1, (30 - 20) / 10],
    [(2 - 2) / 1, (0 - 20) / 10],
  ]);
  assert.throws(() => normalizer.normalizeRow([1]), /got 1 scores, expected 2/);
});

test("normalizer JSON round trip", () => {
  const scores = [
    [0.2, 0.9],
    [0.5, 0.4],
    [0.9, 0.1],
  ];
  const normalizer = RewardNormalizer.fit(NAMES, scores);
  const restored = RewardNormalizer.fromJSON(JSON.parse(JSON.stringify(normalizer)), NAMES);
  assert.deepEqual(restored.toJSON(), normalizer.toJSON());
  assert.deepEqual(restored.normalize(scores), normalizer.normalize(scores));
  const dir = makeTempDir();
  try {
    const path = join(dir, "normalizer.json");
    normalizer.save(path);
    assert.deepEqual(RewardNormalizer.load(path, NAMES).toJSON(), normalizer.toJSON());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("normalizer name mismatch names lists", () => {
  const json = RewardNormalizer.fit(NAMES, [[0, 0], [1, 1]]).toJSON();
  assert.throws(
    () => RewardNormalizer.fromJSON(json, ["brevity", "coverage"]),
    /\["coverage", "brevity"\] do not match the configured objectives \["brevity", "coverage"\]/,
  );
  assert.throws(() => RewardNormalizer.fromJSON(json, ["coverage"]), /do not match/);
  const normalizer = RewardNormalizer.fromJSON(json, NAMES);
  assert.throws(() => normalizer.assertNames(["coverage", "faithfulness"]), /"faithfulness"/);
});

test("normalizer rejects invalid JSON", () => {
  const json = RewardNormalizer.fit(NAMES, [[0, 0], [1, 1]]).toJSON();
  const cases: [unknown, RegExp][] = [
    [null, /expected an object, got null/],
    [{ ...json, version: 2 }, /version 2/],
    [{ ...json, mean: [0] }, /"mean" must be an array of 2 finite numbers/],
    [{ ...json, std: [1, null] }, /"std" must be an array of 2 finite numbers/],
    [{ ...json, std: [1, 0] }, /"brevity" has standard deviation 0/],
    [{ ...json, count: 1 }, /"count" must be an integer of at least 2/],
  ];
  for (const [candidate, pattern] of cases) {
    assert.throws(() => RewardNormalizer.fromJSON(candidate, NAMES), pattern);
  }
});

test("normalizer fit rejects degenerate data", () => {
  const cases: [string[], number[][], RegExp][] = [
    [NAMES, [[0, 1]], /at least 2 calibration samples, got 1/],
    [NAMES, [[0, 0.5], [1, 0.5]], /objective "brevity" has standard deviation 0 \(mean 0.5\)/],
    [NAMES, [[0, 1], [1]], /sample 1 has 1 scores, expected 2/],
    [NAMES, [[0, 1], [1, Number.NaN]], /non-finite score NaN for "brevity"/],
    [["a", "a"], [[0, 1], [1, 0]], /duplicate objective names/],
    [[], [[], []], /no objective names given/],
  ];
  for (const [names, scores, pattern] of cases) {
    assert.throws(() => RewardNormalizer.fit(names, scores), pattern);
  }
});
