// Checks that several evaluation files can be compared: the same objectives in the same order, the
// same decoding settings and sample budget, and the same grid weights. A per-weight run may have a
// coarser grid than the other method, and then only the shared weights are compared point by point.

import { BUDGET_FIELDS, ReportError, type EvalFile, type EvalPoint } from "./eval-file.js";

/** One method of a comparison: its label in legends and tables, and its evaluation. */
export interface CompareMethod {
  name: string;
  file: EvalFile;
}

/** Grid weights that a method shares with the first method of the comparison. */
export interface GridMatch {
  /** Pairs [index in the first method's points, index in this method's points], first's order. */
  pairs: [number, number][];
  /** True when one of the two grids contains weights the other lacks. */
  partial: boolean;
}

/** Key of a weight vector, rounded so that 0.1 + 0.2 and 0.3 match. */
export function weightKey(weights: readonly number[]): string {
  return weights.map((w) => String(Number(w.toFixed(6)))).join(",");
}

/**
 * Checks every method against the first and returns how each one's grid matches the first's.
 * @throws ReportError naming both files, the field and both values, when objectives, a budget
 *   setting or the grids differ, or when a grid repeats a weight.
 */
export function checkComparable(methods: readonly CompareMethod[]): GridMatch[] {
  const first = methods[0];
  if (first === undefined) throw new ReportError("no evaluation to compare");
  const firstKeys = gridKeys(first.file);
  return methods.map((method) => {
    checkObjectives(first.file, method.file);
    checkSettings(first.file, method.file);
    checkPromptCounts(first.file, method.file);
    checkTestPrompts(first.file, method.file);
    return matchGrids(first.file, firstKeys, method.file, gridKeys(method.file));
  });
}

function checkObjectives(a: EvalFile, b: EvalFile): void {
  const same =
    a.objectives.length === b.objectives.length &&
    a.objectives.every((name, index) => b.objectives[index] === name);
  if (!same) {
    throw new ReportError(
      `${a.path} and ${b.path} differ in objectives: ${JSON.stringify(a.objectives)} vs ` +
        `${JSON.stringify(b.objectives)}; compare evaluations of the same objectives in the ` +
        `same order`,
    );
  }
}

function checkSettings(a: EvalFile, b: EvalFile): void {
  for (const field of BUDGET_FIELDS) {
    if (a.settings[field] !== b.settings[field]) {
      throw new ReportError(
        `${a.path} and ${b.path} differ in settings.${field}: ` +
          `${String(a.settings[field])} vs ${String(b.settings[field])}; compare evaluations ` +
          `with the same decoding settings and sample budget`,
      );
    }
  }
}

function checkPromptCounts(a: EvalFile, b: EvalFile): void {
  const countA = a.points[0]?.perPrompt?.length;
  const countB = b.points[0]?.perPrompt?.length;
  if (countA !== undefined && countB !== undefined && countA !== countB) {
    throw new ReportError(
      `${a.path} and ${b.path} differ in the number of prompts in points[].perPrompt: ` +
        `${countA} vs ${countB}; evaluate both methods on the same test prompts`,
    );
  }
}

function checkTestPrompts(a: EvalFile, b: EvalFile): void {
  if (a.testPromptsSha256 === null || b.testPromptsSha256 === null) return;
  if (a.testPromptsSha256 !== b.testPromptsSha256) {
    throw new ReportError(
      `${a.path} and ${b.path} were evaluated on different test prompts (testPrompts.sha256 ` +
        `${a.testPromptsSha256.slice(0, 12)}… vs ${b.testPromptsSha256.slice(0, 12)}…); ` +
        `evaluate both with the same test split and --prompts`,
    );
  }
}

function gridKeys(file: EvalFile): Map<string, number> {
  const keys = new Map<string, number>();
  file.points.forEach((point, index) => {
    const key = weightKey(point.weights);
    const earlier = keys.get(key);
    if (earlier !== undefined) {
      throw new ReportError(
        `${file.path}: points[${index}] repeats the weights [${point.weights.join(", ")}] of ` +
          `points[${earlier}]; each grid weight must appear once`,
      );
    }
    keys.set(key, index);
  });
  return keys;
}

function matchGrids(
  a: EvalFile,
  aKeys: Map<string, number>,
  b: EvalFile,
  bKeys: Map<string, number>,
): GridMatch {
  const pairs: [number, number][] = [];
  for (const [key, aIndex] of aKeys) {
    const bIndex = bKeys.get(key);
    if (bIndex !== undefined) pairs.push([aIndex, bIndex]);
  }
  const equal = pairs.length === aKeys.size && pairs.length === bKeys.size;
  if (equal) return { pairs, partial: false };

  // A per-weight run trains one policy per weight, so its grid may be a subset of the other's.
  const aInB = pairs.length === aKeys.size;
  const bInA = pairs.length === bKeys.size;
  const perWeightSubset =
    (b.method === "per-weight" && bInA) || (a.method === "per-weight" && aInB);
  if (perWeightSubset && pairs.length > 0) return { pairs, partial: true };

  const onlyA = a.points.find((point) => !bKeys.has(weightKey(point.weights)));
  const onlyB = b.points.find((point) => !aKeys.has(weightKey(point.weights)));
  // For a per-weight run, the weight it has beyond the other grid is the one to fix.
  const showB = onlyA === undefined || (b.method === "per-weight" && onlyB !== undefined);
  const example = showB
    ? `[${onlyB!.weights.join(", ")}] is in ${b.path} only`
    : `[${onlyA.weights.join(", ")}] is in ${a.path} only`;
  throw new ReportError(
    `${a.path} and ${b.path} differ in the grid weights (points[].weights): ` +
      `${gridSummary(a.points)} vs ${gridSummary(b.points)}, and ${example}; evaluate both ` +
      `methods on the same grid (only a per-weight run may have a subset of the other's weights)`,
  );
}

/** Lists a grid in full when it is short, or else gives its size. */
function gridSummary(points: readonly EvalPoint[]): string {
  if (points.length > 6) return `${points.length} weights`;
  return points.map((point) => `[${point.weights.join(", ")}]`).join(" ");
}
