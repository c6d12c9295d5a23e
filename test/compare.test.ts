// Tests of clp compare on hand-written evaluation files in test/fixtures/compare: the numbers in
// compare.json against direct calls of the metrics, the input checks, and the report page loaded
// in Debian's Chromium with no network.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";

import { chromium, type Browser } from "playwright-core";

import { digestTestPrompts, writeEvaluation } from "../src/cli/report.js";
import { ReportError, writeCompareReport, type Comparison } from "../src/eval/compare-report.js";
import { loadEvalFile } from "../src/eval/eval-file.js";
import type { EvalSettings, WeightResult } from "../src/eval/evaluate.js";
import {
  dominanceShare,
  edgeMonotonicity,
  hypervolume,
  pairedBootstrapHypervolume,
  rankCorrelations,
  rewardRanges,
  sharedReferencePoint,
} from "../src/eval/metrics.js";

const FIXTURES = join("test", "fixtures", "compare");
const CLP_M2 = join(FIXTURES, "clp-m2.json");
const SOUPS_M2 = join(FIXTURES, "soups-m2.json");
const PER_WEIGHT_M2 = join(FIXTURES, "per-weight-m2.json");
const LEGACY_M2 = join(FIXTURES, "legacy-m2.json");
const CLP_M3 = join(FIXTURES, "clp-m3.json");
const SOUPS_M3 = join(FIXTURES, "soups-m3.json");
const CHROMIUM = "/usr/bin/chromium";

const tempDir = mkdtempSync(join(tmpdir(), "clp-compare-test-"));
after(() => rmSync(tempDir, { recursive: true, force: true }));

interface FixturePoint {
  weights: number[];
  means: number[];
  kl: number;
  perPrompt?: number[][];
}

interface Fixture {
  [field: string]: unknown;
  objectives: string[];
  settings: Record<string, number>;
  reference: FixturePoint;
  points: FixturePoint[];
}

function readFixture(path: string): Fixture {
  return JSON.parse(readFileSync(path, "utf8")) as Fixture;
}

/** Writes an edited copy of a fixture into the temporary folder and returns its path. */
function writeVariant(source: string, name: string, edit: (data: Fixture) => void): string {
  const data = readFixture(source);
  edit(data);
  const path = join(tempDir, name);
  writeFileSync(path, JSON.stringify(data));
  return path;
}

function means(file: Fixture): number[][] {
  return file.points.map((point) => point.means);
}

function clp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["bin/clp.js", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Input files of the two-objective comparison, in the order they are passed. */
const M2_INPUTS = [CLP_M2, SOUPS_M2, PER_WEIGHT_M2, LEGACY_M2];
const M2_RESAMPLES = 200;

let m2Report: Promise<{ htmlPath: string; json: Comparison }> | undefined;

/** Writes the two-objective report with the CLI once and returns its paths and numbers. */
function twoObjectiveReport() {
  m2Report ??= (async () => {
    const htmlPath = join(tempDir, "m2", "report.html");
    const result = clp(
      "compare",
      ...M2_INPUTS,
      "--out",
      htmlPath,
      "--resamples",
      String(M2_RESAMPLES),
    );
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(
      readFileSync(join(tempDir, "m2", "compare.json"), "utf8"),
    ) as Comparison;
    return { htmlPath, json };
  })();
  return m2Report;
}

describe("compare.json numbers", () => {
  const files = M2_INPUTS.map(readFixture);
  const reference = sharedReferencePoint(
    files.flatMap((file) => [means(file), [file.reference.means]]),
  );

  test("shared reference point matches a direct call", async () => {
    const { json } = await twoObjectiveReport();
    assert.deepEqual(json.hypervolume.referencePoint, reference);
    assert.equal(json.hypervolume.margin, 0.1);
    assert.equal(json.hypervolume.given, false);
  });

  test("hypervolumes match direct calls", async () => {
    const { json } = await twoObjectiveReport();
    files.forEach((file, index) => {
      assert.equal(json.methods[index]!.hypervolume, hypervolume(means(file), reference));
    });
  });

  test("bootstrap interval matches a direct call", async () => {
    const { json } = await twoObjectiveReport();
    const [clpFile, soupsFile] = files;
    const expected = pairedBootstrapHypervolume(
      soupsFile!.points.map((point) => point.perPrompt!),
      clpFile!.points.map((point) => point.perPrompt!),
      reference,
      { resamples: M2_RESAMPLES, seed: 0 },
    );
    assert.deepEqual(json.methods[1]!.versusFirst!.hypervolumeDifference, expected);
    assert.deepEqual(json.bootstrap, { resamples: M2_RESAMPLES, seed: 0, level: 0.95 });
    assert.equal(json.methods[0]!.versusFirst, null);
  });

  test("given reference point replaces the shared one", () => {
    const htmlPath = join(tempDir, "fixed-point", "report.html");
    const result = clp("compare", CLP_M2, SOUPS_M2, "--out", htmlPath, "--resamples", "10", "--reference-point", "-0.01,0.5");
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(readFileSync(join(tempDir, "fixed-point", "compare.json"), "utf8")) as Comparison;
    assert.deepEqual(json.hypervolume.referencePoint, [-0.01, 0.5]);
    assert.equal(json.hypervolume.given, true);
    assert.equal(json.methods[0]!.hypervolume, hypervolume(means(files[0]!), [-0.01, 0.5]));
    assert.equal(json.methods[1]!.hypervolume, hypervolume(means(files[1]!), [-0.01, 0.5]));
    assert.match(readFileSync(htmlPath, "utf8"), /given with --reference-point/);
  });

  test("few prompts get a note", async () => {
    const { json } = await twoObjectiveReport();
    assert.ok(
      json.notes.some((note) => /resample only 4 test prompts; percentile bootstrap intervals from fewer than 30 are too narrow/.test(note)),
      json.notes.join("\n"),
    );
  });

  test("empty fronts and few resamples get notes", () => {
    const result = clp("compare", CLP_M2, SOUPS_M2, "--out", join(tempDir, "high-point", "r.html"), "--resamples", "10", "--reference-point", "1,1");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^note: No grid mean of rewarded-soups on coverage vs brevity dominates the reference point, so its hypervolume is 0\.$/m);
    assert.match(result.stdout, /^note: The intervals come from only 10 bootstrap resamples, so their bounds are rough/m);
    assert.match(result.stdout, /^note: The intervals resample only 4 test prompts/m);
  });

  test("coarser per-weight grid keeps its hypervolume", async () => {
    const { json } = await twoObjectiveReport();
    const [clpFile, , perWeightFile] = files;
    const versus = json.methods[2]!.versusFirst!;
    const expected =
      hypervolume(means(perWeightFile!), reference) - hypervolume(means(clpFile!), reference);
    assert.ok(Math.abs(versus.hypervolumeDifference!.observed - expected) < 1e-12);
    assert.ok(versus.hypervolumeDifference!.lower <= versus.hypervolumeDifference!.upper);
  });

  test("per-weight dominance uses shared weights", async () => {
    const { json } = await twoObjectiveReport();
    const [clpFile, , perWeightFile] = files;
    const key = (weights: number[]) => weights.join(",");
    const shared = perWeightFile!.points.map((point) => key(point.weights));
    const clpRows = clpFile!.points.filter((point) => shared.includes(key(point.weights)));
    const expected = dominanceShare(
      means(perWeightFile!),
      shared.map((weights) => clpRows.find((point) => key(point.weights) === weights)!.means),
    );
    const versus = json.methods[2]!.versusFirst!;
    assert.equal(versus.sharedWeights, 3);
    assert.equal(versus.partialGrid, true);
    assert.equal(versus.dominatesFirst, expected.aDominatesB);
    assert.equal(versus.dominatedByFirst, expected.bDominatesA);
    assert.ok(
      json.notes.some((note) => note.includes("share 3 grid weights")),
      json.notes.join("\n"),
    );
  });

  test("legacy file has no interval", async () => {
    const { json } = await twoObjectiveReport();
    const versus = json.methods[3]!.versusFirst!;
    assert.equal(versus.hypervolumeDifference, null);
    assert.match(versus.intervalNote ?? "", /legacy-m2\.json has no per-prompt rewards/);
    assert.equal(versus.sharedWeights, 5);
    assert.equal(json.methods[3]!.format, null);
    assert.equal(json.perPromptCount, 4);
  });

  test("steerability metrics match direct calls", async () => {
    const { json } = await twoObjectiveReport();
    files.forEach((file, index) => {
      const weights = file.points.map((point) => point.weights);
      const method = json.methods[index]!;
      assert.deepEqual(method.rankCorrelations, rankCorrelations(weights, means(file)));
      assert.deepEqual(method.monotonicity, edgeMonotonicity(weights, means(file)));
      assert.deepEqual(method.rewardRanges, rewardRanges(means(file)));
      const kls = file.points.map((point) => point.kl);
      assert.equal(method.meanKl, kls.reduce((a, b) => a + b, 0) / kls.length);
    });
  });

  test("settings and command are recorded", async () => {
    const { json } = await twoObjectiveReport();
    assert.deepEqual(json.settings, {
      prompts: 4,
      samplesPerPrompt: 1,
      maxNewTokens: 20,
      temperature: 1,
      seed: 1234,
      maxSourceTokens: 96,
    });
    assert.match(json.command ?? "", /^clp compare test\/fixtures\/compare\/clp-m2\.json /);
    assert.match(json.command ?? "", /--resamples 200$/);
  });
});

test("loader reads what clp eval writes", async () => {
  const settings: EvalSettings = {
    prompts: 2,
    samplesPerPrompt: 1,
    maxNewTokens: 8,
    temperature: 1,
    seed: 3,
    maxSourceTokens: 32,
    batchSize: 4,
  };
  const result = (weights: number[], perPrompt: number[][]): WeightResult => ({
    weights,
    means: [0, 1].map((j) => (perPrompt[0]![j]! + perPrompt[1]![j]!) / 2),
    stderrs: [0.01, 0.02],
    kl: weights.length === 0 ? 0 : 1.5,
    klStderr: 0.1,
    meanLength: 4,
    samples: [{ source: "a tool", summary: "tool" }],
    perPrompt,
  });
  const folder = join(tempDir, "written-run");
  mkdirSync(folder, { recursive: true });
  const points = [
    result(
      [1, 0],
      [
        [0.5, 0.2],
        [0.7, 0.4],
      ],
    ),
    result(
      [0, 1],
      [
        [0.1, 0.9],
        [0.3, 0.7],
      ],
    ),
  ];
  const reference = result(
    [],
    [
      [0.2, 0.5],
      [0.2, 0.5],
    ],
  );
  const testPrompts = digestTestPrompts(["A chess program.", "A text editor."]);
  const run = { title: "CLP (attn) on coverage vs brevity", method: "clp", klCoef: 0.05, testPrompts };
  await writeEvaluation(folder, run, ["coverage", "brevity"], settings, reference, points);

  const file = loadEvalFile(folder);
  assert.equal(file.format, "clp-eval/1");
  assert.match(file.testPromptsSha256 ?? "", /^[0-9a-f]{64}$/);
  assert.equal(file.method, "clp");
  assert.equal(file.klCoef, 0.05);
  assert.deepEqual(file.objectives, ["coverage", "brevity"]);
  assert.deepEqual(
    file.points.map((point) => point.perPrompt),
    points.map((point) => point.perPrompt),
  );
  assert.deepEqual(file.reference.means, reference.means);
  assert.equal(file.steering.length, 2);
});

describe("compare input checks", () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      "objectives in another order",
      () => [CLP_M2, writeVariant(SOUPS_M2, "swapped.json", (data) => data.objectives.reverse())],
      /clp-m2\.json and \S*swapped\.json differ in objectives: \["coverage","brevity"\] vs \["brevity","coverage"\]/,
    ],
    [
      "another temperature",
      () => [
        CLP_M2,
        writeVariant(SOUPS_M2, "hot.json", (data) => (data.settings.temperature = 0.7)),
      ],
      /clp-m2\.json and \S*hot\.json differ in settings\.temperature: 1 vs 0\.7/,
    ],
    [
      "another prompt count",
      () => [CLP_M2, writeVariant(SOUPS_M2, "more.json", (data) => (data.settings.prompts = 8))],
      /clp-m2\.json and \S*more\.json differ in settings\.prompts: 4 vs 8/,
    ],
    [
      "another grid",
      () => [
        CLP_M2,
        writeVariant(SOUPS_M2, "grid.json", (data) => (data.points[1]!.weights = [0.7, 0.3])),
      ],
      /clp-m2\.json and \S*grid\.json differ in the grid weights .*\[0\.75, 0\.25\] is in \S*clp-m2\.json only/,
    ],
    [
      "subset grid of a clp run",
      () => [CLP_M2, writeVariant(SOUPS_M2, "subset.json", (data) => data.points.splice(1, 1))],
      /clp-m2\.json and \S*subset\.json differ in the grid weights/,
    ],
    [
      "per-weight run off the grid",
      () => [
        CLP_M2,
        writeVariant(
          PER_WEIGHT_M2,
          "off-grid.json",
          (data) => (data.points[1]!.weights = [0.6, 0.4]),
        ),
      ],
      /differ in the grid weights .*\[0\.6, 0\.4\] is in \S*off-grid\.json only/,
    ],
    [
      "other test prompts",
      () => [
        writeVariant(CLP_M2, "prompts-a.json", (data) => (data.testPrompts = { count: 4, sha256: "a".repeat(64) })),
        writeVariant(SOUPS_M2, "prompts-b.json", (data) => (data.testPrompts = { count: 4, sha256: "b".repeat(64) })),
      ],
      /prompts-a\.json and \S*prompts-b\.json were evaluated on different test prompts \(testPrompts\.sha256 a{12}… vs b{12}…\)/,
    ],
    [
      "missing per-prompt rewards",
      () => [
        CLP_M2,
        writeVariant(SOUPS_M2, "no-prompts.json", (data) => delete data.points[2]!.perPrompt),
      ],
      /no-prompts\.json: points\[2\]\.perPrompt is missing/,
    ],
    [
      "unknown format",
      () => [writeVariant(CLP_M2, "format.json", (data) => (data.format = "clp-eval/9"))],
      /format\.json: format "clp-eval\/9" is not supported/,
    ],
    [
      "missing mean",
      () => [
        writeVariant(
          CLP_M2,
          "nan.json",
          (data) => ((data.points[0]!.means as unknown[])[1] = null),
        ),
      ],
      /nan\.json: points\[0\]\.means\[1\] is null/,
    ],
    [
      "run folder without front.json",
      () => {
        const folder = join(tempDir, "empty-run");
        mkdirSync(folder, { recursive: true });
        return [folder];
      },
      /empty-run has no front\.json; evaluate the run first/,
    ],
    [
      "two equal labels",
      () => [CLP_M2, CLP_M2],
      /have the same label "CLP \(attn\) on coverage vs brevity"/,
    ],
  ];

  for (const [name, inputs, message] of cases) {
    test(`rejects ${name}`, async () => {
      const out = join(tempDir, "rejected", "report.html");
      await assert.rejects(writeCompareReport(inputs(), out), (error: unknown) => {
        assert.ok(error instanceof ReportError, `expected a ReportError, got ${String(error)}`);
        assert.equal(error.name, "ReportError");
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test("accepts a run folder", async () => {
    const folder = join(tempDir, "run");
    mkdirSync(folder, { recursive: true });
    copyFileSync(CLP_M2, join(folder, "front.json"));
    const out = join(tempDir, "folder", "report.html");
    const { comparison } = await writeCompareReport([folder, SOUPS_M2], out, { resamples: 10 });
    assert.equal(comparison.methods[0]!.path, join(folder, "front.json"));
  });

  test("CLI prints input errors on one line", () => {
    const swapped = writeVariant(SOUPS_M2, "cli-swapped.json", (data) => data.objectives.reverse());
    const result = clp("compare", CLP_M2, swapped, "--out", join(tempDir, "cli", "r.html"));
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /^clp: \S*clp-m2\.json and \S*cli-swapped\.json differ in objectives/,
    );
    assert.doesNotMatch(result.stderr, /unexpected error/);
  });

  test("CLI rejects bad options", () => {
    assert.match(clp("compare").stderr, /^clp: give at least one run folder or front\.json file/);
    assert.match(
      clp("compare", CLP_M2, SOUPS_M2, "--names", "a").stderr,
      /^clp: --names must list 2/,
    );
    assert.match(
      clp("compare", CLP_M2, "--resamples", "1").stderr,
      /^clp: --resamples must be an integer ≥ 2/,
    );
    assert.match(
      clp("compare", CLP_M2, "--reference-point", "0,high").stderr,
      /^clp: --reference-point must list comma-separated numbers, one per objective, such as 0,0\.5; got "0,high"/,
    );
    assert.match(
      clp("compare", CLP_M2, "--reference-point", "0,0.5,1", "--out", join(tempDir, "bad-point", "r.html")).stderr,
      /^clp: reference point \[0, 0\.5, 1\] must have one finite number per objective \(coverage, brevity\)/,
    );
    assert.match(
      clp("compare", CLP_M2, "--out", "report.txt").stderr,
      /^clp: --out must name an \.html file/,
    );
    const help = clp("compare", "--help");
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: clp compare/);
  });
});

let browserPromise: Promise<Browser> | undefined;

/** Launches Debian's Chromium once for the tests below. */
function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found; install the Debian package chromium ` +
        `(apt-get install chromium, or run scripts/setup.sh) to test the report page`,
    );
  }
  // Chromium exits at start as root unless its sandbox is turned off.
  const args = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
  browserPromise ??= chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  return browserPromise;
}

after(async () => {
  if (browserPromise) await (await browserPromise).close();
});

interface PageReport {
  figures: { id: string; svgs: number; width: number; marks: Record<string, number> }[];
  metricRows: number;
  methodRows: number;
  sampleTables: number;
  scripts: number;
}

/** Opens a report page, failing on any console error, page error or request beyond the file. */
async function loadReport(htmlPath: string, markPrefixes: readonly string[]): Promise<PageReport> {
  const browser = await launchBrowser();
  const page = await browser.newPage();
  const problems: string[] = [];
  const url = pathToFileURL(resolve(htmlPath)).href;
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`failed request: ${request.url()}`));
  page.on("request", (request) => {
    if (request.url() !== url) problems.push(`request beyond the page: ${request.url()}`);
  });
  try {
    await page.goto(url, { waitUntil: "load" });
    const figures: PageReport["figures"] = [];
    for (const plot of await page.locator("figure.plot").all()) {
      const marks: Record<string, number> = {};
      for (const prefix of markPrefixes) {
        marks[prefix] = await plot.locator(`g[class*=" ${prefix}"]`).locator("path, line").count();
      }
      const svg = plot.locator(":scope > svg");
      figures.push({
        id: (await plot.getAttribute("id")) ?? "",
        svgs: await svg.count(),
        width: (await svg.first().boundingBox())?.width ?? 0,
        marks,
      });
    }
    const report: PageReport = {
      figures,
      metricRows: await page.locator("table.metrics tbody tr").count(),
      methodRows: await page.locator("table.methods tbody tr").count(),
      sampleTables: await page.locator("table.samples").count(),
      scripts: await page.locator("script").count(),
    };
    assert.deepEqual(problems, []);
    return report;
  } finally {
    await page.close();
  }
}

function figure(report: PageReport, id: string) {
  const found = report.figures.find((entry) => entry.id === `figure-${id}`);
  assert.ok(
    found,
    `figure ${id} is missing; found ${report.figures.map((entry) => entry.id).join(", ")}`,
  );
  assert.equal(found.svgs, 1, `figure ${id} has ${found.svgs} inline svg elements`);
  assert.ok(found.width > 100, `figure ${id} is ${found.width} px wide`);
  return found;
}

describe("report page in Chromium", () => {
  test("two-objective report renders every plot", async () => {
    const { htmlPath } = await twoObjectiveReport();
    const report = await loadReport(htmlPath, [
      "compare_points_marks",
      "compare_line_marks",
      "compare_reference_marks",
      "compare_hv_reference_marks",
      "compare_error_x_marks",
      "compare_curve_points_p",
    ]);
    assert.deepEqual(
      report.figures.map((entry) => entry.id),
      ["figure-front", "figure-reward-curves"],
    );
    const front = figure(report, "front");
    // 5 + 5 + 3 + 5 grid weights, one π_ref and one line per method, one reference point.
    assert.equal(front.marks.compare_points_marks, 18);
    assert.equal(front.marks.compare_line_marks, 4);
    assert.equal(front.marks.compare_reference_marks, 4);
    assert.equal(front.marks.compare_hv_reference_marks, 1);
    assert.ok(front.marks.compare_error_x_marks! > 0);
    const curves = figure(report, "reward-curves");
    assert.equal(curves.marks.compare_curve_points_p, 2 * 18);
    assert.equal(report.metricRows, 4);
    assert.equal(report.methodRows, 4);
    // Both vertices and the centre.
    assert.equal(report.sampleTables, 3);
    assert.equal(report.scripts, 0);
  });

  test("three-objective report shows ternary plots", async () => {
    const htmlPath = join(tempDir, "m3", "report.html");
    await writeCompareReport([CLP_M3, SOUPS_M3], htmlPath, { resamples: 50 });
    const report = await loadReport(htmlPath, [
      "compare_points_p",
      "compare_ternary_points_p",
      "compare_ternary_edges_p",
      "compare_curve_points_p",
    ]);
    assert.deepEqual(
      report.figures.map((entry) => entry.id),
      ["figure-front", "figure-reward-curves", "figure-ternary"],
    );
    // Three pair panels of 2 × 6 grid weights.
    assert.equal(figure(report, "front").marks.compare_points_p, 3 * 12);
    assert.equal(figure(report, "reward-curves").marks.compare_curve_points_p, 3 * 12);
    const ternary = figure(report, "ternary");
    // One triangle per method and objective, each with the 6 grid weights.
    assert.equal(ternary.marks.compare_ternary_points_p, 3 * 2 * 6);
    assert.equal(ternary.marks.compare_ternary_edges_p, 3 * 2);
    assert.equal(report.metricRows, 2);
    // Three vertices and the grid weight nearest the centre.
    assert.equal(report.sampleTables, 4);
  });
});
