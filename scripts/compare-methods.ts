/**
 * Trains and evaluates every method of configs/methods/ on the default task under one budget,
 * compares them with `clp compare`, and writes the results as a section of docs/RESULTS.md.
 *
 *   node dist/scripts/compare-methods.js --objectives coverage,brevity --out runs/comparison-m2 \
 *     [--steps 150] [--prompts 400] [--divisions 10] [--methods attn-clp,rewarded-soups,…] \
 *     [--set METHOD:KEY=VALUE …] [--results docs/RESULTS.md]
 *
 * Each method runs as `clp train` in its own folder under --out with the same overrides, so every
 * method gets the same π_ref, data, RL steps, sample budget and decoding settings. `--set
 * logit-clp:rl.lr=0.001` changes one field of one method's config and is recorded in the command.
 * When the script runs again, it skips finished methods whose config.json matches these settings,
 * so an interrupted comparison continues. A method finished with other settings is retrained.
 */
import { spawnSync } from "node:child_process";
import { cpus, totalmem, type } from "node:os";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Comparison } from "../src/eval/compare-metrics.js";

const ALL_METHODS = [
  "attn-clp",
  "logit-clp",
  "full-clp",
  "lora-clp",
  "attn-clp-prompt",
  "prompting",
  "rewarded-soups",
  "logit-mixing",
];

const { values } = parseArgs({
  options: {
    objectives: { type: "string", default: "coverage,brevity" },
    out: { type: "string" },
    steps: { type: "string", default: "150" },
    prompts: { type: "string", default: "400" },
    divisions: { type: "string", default: "10" },
    methods: { type: "string", default: ALL_METHODS.join(",") },
    results: { type: "string", default: "docs/RESULTS.md" },
    set: { type: "string", multiple: true, default: [] },
  },
});
const objectives = values.objectives!.split(",").map((o) => o.trim());
const out = values.out ?? `runs/comparison-m${objectives.length}`;
const methods = values.methods!.split(",").map((m) => m.trim());
for (const method of methods) {
  if (!existsSync(join("configs/methods", `${method}.json`))) throw new Error(`no config configs/methods/${method}.json; known: ${ALL_METHODS.join(", ")}`);
}
if (methods.includes("logit-mixing") && !methods.includes("rewarded-soups")) {
  throw new Error("logit-mixing reuses the experts of rewarded-soups: list rewarded-soups before it");
}
const methodOverrides = new Map<string, string[]>();
for (const entry of values.set!) {
  const match = /^([\w-]+):([^=]+=.*)$/.exec(entry);
  if (!match) throw new Error(`--set ${entry}: expected METHOD:KEY=VALUE, for example --set logit-clp:rl.lr=0.001`);
  const [, method, override] = match as unknown as [string, string, string];
  if (!methods.includes(method)) throw new Error(`--set ${entry}: ${method} is not among the methods compared (${methods.join(", ")})`);
  methodOverrides.set(method, [...(methodOverrides.get(method) ?? []), override]);
}
const command = `node dist/scripts/compare-methods.js ${process.argv.slice(2).join(" ")}`;
mkdirSync(out, { recursive: true });

function clp(args: string[]): void {
  process.stderr.write(`$ clp ${args.join(" ")}\n`);
  const result = spawnSync(process.execPath, ["bin/clp.js", ...args], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`clp ${args[0]} failed with exit code ${result.status}`);
}

const wallMinutes: Record<string, number> = {};
const timesPath = join(out, "wall-times.json");
if (existsSync(timesPath)) Object.assign(wallMinutes, JSON.parse(readFileSync(timesPath, "utf8")) as Record<string, number>);
/** Returns the first override whose value differs from the finished run's config.json, or null. */
function changedOverride(runDir: string, overrides: readonly string[]): string | null {
  const config = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as Record<string, unknown>;
  for (const override of overrides) {
    const [key, ...rest] = override.split("=");
    const text = rest.join("=");
    let expected: unknown = text;
    try {
      expected = JSON.parse(text);
    } catch {
      // A bare string, such as a folder path.
    }
    const actual = key!.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config);
    // Paths match when they name the same folder, relative or absolute.
    const samePath = typeof actual === "string" && typeof expected === "string" && resolve(actual) === resolve(expected);
    if (!samePath && JSON.stringify(actual) !== JSON.stringify(expected)) return `${key} is ${JSON.stringify(actual)} there, ${JSON.stringify(expected)} here`;
  }
  return null;
}

for (const method of methods) {
  const runDir = join(out, method);
  const overrides = [
    `objectives=${JSON.stringify(objectives)}`,
    `rl.steps=${values.steps}`,
    `eval.prompts=${values.prompts}`,
    `eval.divisions=${values.divisions}`,
  ];
  overrides.push(...(methodOverrides.get(method) ?? []));
  if (method === "logit-mixing") overrides.push(`baseline.expertsFrom=${join(out, "rewarded-soups")}`);
  if (existsSync(join(runDir, "front.json")) && existsSync(join(runDir, "config.json")) && wallMinutes[method] !== undefined) {
    const changed = changedOverride(runDir, overrides);
    if (changed === null) {
      process.stderr.write(`${method}: already done with these settings, skipping\n`);
      continue;
    }
    process.stderr.write(`${method}: the finished run in ${runDir} differs (${changed}); training it again\n`);
    delete wallMinutes[method];
  }
  const started = Date.now();
  clp(["train", "--config", join("configs/methods", `${method}.json`), "--run-dir", runDir, "--overwrite", "--quiet", ...overrides.flatMap((o) => ["--set", o])]);
  wallMinutes[method] = (Date.now() - started) / 60000;
  writeFileSync(timesPath, JSON.stringify(wallMinutes, null, 2) + "\n");
}

const report = join(out, "report.html");
clp(["compare", ...methods.map((m) => join(out, m)), "--out", report, "--names", methods.join(",")]);
const comparison = JSON.parse(readFileSync(join(out, "compare.json"), "utf8")) as Comparison;

// Hypervolumes shrink with every objective (products of m ranges), so they get significant digits.
const significant = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toPrecision(3));
const format = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const lines: string[] = [];
const heading = `## m = ${objectives.length}: ${objectives.join(", ")}`;
lines.push(heading, "");
lines.push(
  `Command: \`${command}\` (then \`clp compare\` as recorded in ${report}). Machine: ${cpus().length}-core ${cpus()[0]?.model.trim() ?? "CPU"}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, ${type()}, no GPU. Budget per method: ${values.steps} RL steps from π_ref, ` +
    `${comparison.settings.prompts} test prompts × ${comparison.settings.samplesPerPrompt} sample(s) per weight, ` +
    `at most ${comparison.settings.maxNewTokens} new tokens at temperature ${comparison.settings.temperature}. ` +
    `Hypervolume reference point [${comparison.hypervolume.referencePoint.map((x) => x.toFixed(4)).join(", ")}], shared by all methods; ` +
    `intervals are ${comparison.bootstrap.level * 100}% paired bootstrap over prompts (${comparison.bootstrap.resamples} resamples) against ${comparison.methods[0]!.name}.`,
  "",
);
lines.push(`| method | hypervolume | difference vs ${comparison.methods[0]!.name} [interval] | Spearman ρ per objective | edge violations | mean KL | wall time (min) |`);
lines.push("|---|---|---|---|---|---|---|");
for (const m of comparison.methods) {
  const versus = m.versusFirst?.hypervolumeDifference;
  const difference = versus ? `${significant(versus.observed)} [${significant(versus.lower)}, ${significant(versus.upper)}]` : "–";
  lines.push(
    `| ${m.name} | ${significant(m.hypervolume)} | ${difference} | ${m.rankCorrelations.map((r) => format(r, 2)).join(", ")} | ` +
      `${m.monotonicity.totals.violations} | ${format(m.meanKl, 2)} | ${format(wallMinutes[m.name], 1)} |`,
  );
}
lines.push("");
for (const note of comparison.notes) lines.push(`- ${note}`);
lines.push("");

const resultsPath = values.results!;
const existing = existsSync(resultsPath) ? readFileSync(resultsPath, "utf8") : "# Results\n\nEvery method of docs/METHODS.md on the default task, measured by scripts/compare-methods.ts.\n\n";
// Replaces this objective set's section and keeps the others.
const start = existing.indexOf(heading);
let updated: string;
if (start < 0) {
  updated = existing.trimEnd() + "\n\n" + lines.join("\n");
} else {
  const next = existing.indexOf("\n## ", start + heading.length);
  updated = existing.slice(0, start) + lines.join("\n") + (next < 0 ? "" : existing.slice(next + 1));
}
writeFileSync(resultsPath, updated.trimEnd() + "\n");
process.stderr.write(`wrote ${resultsPath} and ${report}\n`);
