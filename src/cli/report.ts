/** Writes evaluation results (JSON, CSV, plots) and prints the summary table. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EvalSettings, WeightResult } from "../eval/evaluate.js";
import { EVAL_FORMAT } from "../eval/eval-file.js";
import { writeFrontReport } from "../eval/plot.js";
import { writeFileAtomic } from "../model/safetensors.js";

/** How far reward i at its own vertex eᵢ lies above its mean at every other vertex. */
export interface SteeringCheck {
  objective: string;
  ownVertexMean: number;
  otherVertexMean: number;
  difference: number;
  /** √(seᵢ² + seⱼ²) of the two means. */
  combinedStderr: number;
  /** difference > 2 · combinedStderr. */
  passed: boolean;
}

/** Compares each objective at its own vertex with the other vertices (samples are independent draws per weight). */
export function steeringChecks(objectives: readonly string[], points: readonly WeightResult[]): SteeringCheck[] {
  const isVertex = (w: readonly number[], i: number) => w[i] === 1;
  return objectives.map((objective, i) => {
    const own = points.find((p) => isVertex(p.weights, i));
    const others = points.filter((p) => p.weights.some((x, j) => j !== i && x === 1));
    if (own === undefined || others.length === 0) {
      return { objective, ownVertexMean: Number.NaN, otherVertexMean: Number.NaN, difference: Number.NaN, combinedStderr: Number.NaN, passed: false };
    }
    // The weakest comparison decides: the other vertex where objective i scores highest.
    const rival = others.reduce((best, p) => (p.means[i]! > best.means[i]! ? p : best));
    const difference = own.means[i]! - rival.means[i]!;
    const combinedStderr = Math.hypot(own.stderrs[i]!, rival.stderrs[i]!);
    return {
      objective,
      ownVertexMean: own.means[i]!,
      otherVertexMean: rival.means[i]!,
      difference,
      combinedStderr,
      passed: difference > 2 * combinedStderr,
    };
  });
}

/** Writes front.json, front.csv, front.svg and front.html into `dir`; returns the steering checks. */
export async function writeEvaluation(
  dir: string,
  { title, method, klCoef }: { title: string; method: string; klCoef: number | null },
  objectives: readonly string[],
  settings: EvalSettings,
  reference: WeightResult,
  points: readonly WeightResult[],
): Promise<SteeringCheck[]> {
  const steering = steeringChecks(objectives, points);
  const result = { format: EVAL_FORMAT, title, method, objectives, settings, klCoef, reference, points, steering };
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
