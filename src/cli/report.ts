/** Writes evaluation results (JSON, CSV, plots) and prints the summary table. */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EvalSettings, WeightResult } from "../eval/evaluate.js";
import { EVAL_FORMAT } from "../eval/eval-file.js";
import { writeFrontReport } from "../eval/plot.js";
import { writeFileAtomic } from "../model/safetensors.js";
import { standardError } from "../rl/stats.js";

/** How far reward i at its own vertex eᵢ lies above its mean at the closest other vertex. */
export interface SteeringCheck {
  objective: string;
  ownVertexMean: number;
  /** Mean of reward i at the other vertex that comes closest to eᵢ, in standard errors. */
  otherVertexMean: number;
  difference: number;
  /**
   * Standard error of the difference: over the per-prompt differences when both vertices were
   * scored on the same prompts (`paired`), else √(seᵢ² + seⱼ²) of the two means.
   */
  differenceStderr: number;
  paired: boolean;
  /** difference > 2 · differenceStderr against every other vertex. */
  passed: boolean;
}

function compareVertices(own: WeightResult, other: WeightResult, i: number) {
  const difference = own.means[i]! - other.means[i]!;
  const n = own.perPrompt.length;
  // Every weight is sampled with the same seeds per prompt, so the two means are correlated and
  // a paired standard error is the right one when per-prompt scores exist.
  if (n >= 2 && other.perPrompt.length === n) {
    const differences = own.perPrompt.map((row, p) => row[i]! - other.perPrompt[p]![i]!);
    return { difference, differenceStderr: standardError(differences), paired: true };
  }
  return { difference, differenceStderr: Math.hypot(own.stderrs[i]!, other.stderrs[i]!), paired: false };
}

/** Compares each objective at its own vertex with every other vertex; the closest one is reported. */
export function steeringChecks(objectives: readonly string[], points: readonly WeightResult[]): SteeringCheck[] {
  const isVertex = (w: readonly number[], i: number) => w[i] === 1;
  return objectives.map((objective, i) => {
    const own = points.find((p) => isVertex(p.weights, i));
    const others = points.filter((p) => p.weights.some((x, j) => j !== i && x === 1));
    if (own === undefined || others.length === 0) {
      return { objective, ownVertexMean: NaN, otherVertexMean: NaN, difference: NaN, differenceStderr: NaN, paired: false, passed: false };
    }
    const scored = others.map((other) => {
      const result = compareVertices(own, other, i);
      // The difference in standard errors; a zero standard error leaves only its sign.
      let margin = result.difference === 0 ? 0 : Math.sign(result.difference) * Infinity;
      if (result.differenceStderr > 0) margin = result.difference / result.differenceStderr;
      return { other, margin, ...result };
    });
    const closest = scored.reduce((best, entry) => (entry.margin < best.margin ? entry : best));
    return {
      objective,
      ownVertexMean: own.means[i]!,
      otherVertexMean: closest.other.means[i]!,
      difference: closest.difference,
      differenceStderr: closest.differenceStderr,
      paired: closest.paired,
      passed: scored.every((entry) => entry.difference > 2 * entry.differenceStderr),
    };
  });
}

/** Fingerprint of the test prompts, so that clp compare can tell evaluations on other prompts apart. */
export interface TestPromptsDigest {
  count: number;
  sha256: string;
}

/** Returns the fingerprint of the test prompts' descriptions. */
export function digestTestPrompts(descriptions: readonly string[]): TestPromptsDigest {
  return { count: descriptions.length, sha256: createHash("sha256").update(JSON.stringify(descriptions)).digest("hex") };
}

/** Writes front.json, front.csv, front.svg and front.html into `dir`; returns the steering checks. */
export async function writeEvaluation(
  dir: string,
  { title, method, klCoef, testPrompts }: { title: string; method: string; klCoef: number | null; testPrompts: TestPromptsDigest },
  objectives: readonly string[],
  settings: EvalSettings,
  reference: WeightResult,
  points: readonly WeightResult[],
): Promise<SteeringCheck[]> {
  const steering = steeringChecks(objectives, points);
  const result = { format: EVAL_FORMAT, title, method, objectives, settings, klCoef, testPrompts, reference, points, steering };
  writeFileAtomic(join(dir, "front.json"), [Buffer.from(JSON.stringify(result, null, 2) + "\n")]);
  const header = [...objectives.map((o) => `w_${o}`), ...objectives.flatMap((o) => [`${o}_mean`, `${o}_stderr`]), "kl", "kl_stderr", "mean_words"];
  const line = (r: WeightResult, weights: readonly (number | string)[]) =>
    [...weights, ...r.means.flatMap((m, j) => [m, r.stderrs[j]]), r.kl, r.klStderr, r.meanLength].join(",");
  const csv = [header.join(","), line(reference, objectives.map(() => "ref")), ...points.map((p) => line(p, p.weights))];
  writeFileSync(join(dir, "front.csv"), csv.join("\n") + "\n");
  await writeFrontReport(dir, {
    title,
    objectives: [...objectives],
    points: points.map((p) => ({ ...p })),
    reference: { ...reference },
    decoding: { ...settings },
  });
  return steering;
}

/** Formats the results as a fixed-width table for the terminal. */
export function formatTable(objectives: readonly string[], reference: WeightResult, points: readonly WeightResult[]): string {
  const cells = (r: WeightResult, label: string) => [
    label,
    ...r.means.map((m, j) => `${m.toFixed(3)} ± ${r.stderrs[j]!.toFixed(3)}`),
    r.kl.toFixed(2),
    r.meanLength.toFixed(1),
  ];
  const rows = [
    ["w", ...objectives, "KL", "words"],
    cells(reference, "π_ref"),
    ...points.map((p) => cells(p, `[${p.weights.map((x) => x.toFixed(2)).join(", ")}]`)),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join("  ")).join("\n");
}
