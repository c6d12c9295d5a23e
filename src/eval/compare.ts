// Comparison of two steerable methods evaluated on the same weight grid and the same prompts.

import { Rng } from "../util/rng.js";
import { hypervolume } from "./hypervolume.js";
import { checkReference, checkRowCount, checkRows, type Rows } from "./metric-inputs.js";
import { dominates } from "./pareto.js";

/** Shares of grid points at which one method's mean reward vector dominates the other's. */
export interface DominanceShare {
  /** Fraction of grid points where A dominates B, in [0, 1]. */
  aDominatesB: number;
  /** Fraction of grid points where B dominates A, in [0, 1]. */
  bDominatesA: number;
  /** Number of grid points compared. */
  gridPoints: number;
}

/**
 * Compares A and B grid point by grid point: row k of each is the method's mean reward vector at
 * the k-th weight. Equal or incomparable rows count for neither side, so the two shares can sum
 * to less than 1.
 * @throws RangeError unless A and B have the same non-zero number of rows, equal lengths and
 *   finite values.
 */
export function dominanceShare(a: Rows, b: Rows): DominanceShare {
  const context = "dominanceShare";
  const m = checkRows(a, context, "row of A");
  checkRowCount(b, a.length, context, "B");
  checkRows(b, context, "row of B", m);
  if (a.length === 0) {
    throw new RangeError(
      `${context}: A and B are empty; pass one mean reward vector per grid point`,
    );
  }
  let aWins = 0;
  let bWins = 0;
  for (let k = 0; k < a.length; k++) {
    if (dominates(a[k]!, b[k]!)) aWins++;
    else if (dominates(b[k]!, a[k]!)) bWins++;
  }
  return { aDominatesB: aWins / a.length, bDominatesA: bWins / a.length, gridPoints: a.length };
}

/** Per-prompt reward vectors of one method, indexed [grid point][prompt][objective]. */
export type PerPromptRewards = readonly (readonly (readonly number[])[])[];

/** Options of pairedBootstrapHypervolume. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples, an integer ≥ 2 (default 1000). */
  resamples?: number;
  /** Seed of the Rng that draws the prompt indices, an integer (default 0). */
  seed?: number;
  /** Confidence level of the percentile interval, in (0, 1) (default 0.95). */
  level?: number;
}

/** Observed hypervolume difference HV(A) − HV(B) and its paired bootstrap interval. */
export interface BootstrapHypervolume {
  /** HV(A) − HV(B) of the means over all prompts. */
  observed: number;
  hypervolumeA: number;
  hypervolumeB: number;
  /** Percentile interval bounds of the resampled differences at `level`. */
  lower: number;
  upper: number;
  level: number;
  /** Standard deviation of the resampled differences. */
  standardError: number;
  resamples: number;
}

/**
 * Estimates how much the hypervolume of A's front exceeds B's, with a paired percentile bootstrap
 * over prompts. Each resample draws prompt indices with replacement (the same indices for A and B
 * and for every grid point), recomputes each method's mean reward vector per grid point and then
 * each method's hypervolume over its grid means against `reference`. The interval bounds are the
 * (1 − level)/2 and (1 + level)/2 quantiles of the resampled differences, interpolated linearly
 * between order statistics. The same seed gives the same result.
 *
 * Cost: resamples × (grid points × prompts × m + two hypervolumes).
 *
 * NOTE: when several grid points nearly tie for the maximum of an objective, the hypervolume acts
 * like a maximum of noisy means, which is biased upward, and the interval can then cover the true
 * difference less often than `level`.
 * @throws RangeError when A and B differ in shape, a grid point has no prompts or a different
 *   prompt count, values are not finite, or an option is invalid.
 */
export function pairedBootstrapHypervolume(
  perPromptA: PerPromptRewards,
  perPromptB: PerPromptRewards,
  reference: readonly number[],
  options: BootstrapOptions = {},
): BootstrapHypervolume {
  const context = "pairedBootstrapHypervolume";
  const { resamples = 1000, seed = 0, level = 0.95 } = options;
  if (!Number.isInteger(resamples) || resamples < 2) {
    throw new RangeError(
      `${context}: resamples ${resamples} is invalid; pass an integer ≥ 2 such as 1000`,
    );
  }
  if (!Number.isInteger(seed)) {
    throw new RangeError(`${context}: seed ${seed} is invalid; pass an integer`);
  }
  if (typeof level !== "number" || !(level > 0 && level < 1)) {
    throw new RangeError(
      `${context}: level ${level} is invalid; pass a confidence level in (0, 1) such as 0.95`,
    );
  }
  checkReference(reference, context);
  const prompts = checkPerPrompt(perPromptA, perPromptB, reference.length, context);

  const allPrompts = Array.from({ length: prompts }, (_, index) => index);
  const hypervolumeA = hypervolume(gridMeans(perPromptA, allPrompts), reference);
  const hypervolumeB = hypervolume(gridMeans(perPromptB, allPrompts), reference);

  const rng = new Rng(seed);
  const differences: number[] = [];
  const drawn = new Array<number>(prompts);
  for (let r = 0; r < resamples; r++) {
    for (let p = 0; p < prompts; p++) drawn[p] = rng.int(prompts);
    const resampledA = hypervolume(gridMeans(perPromptA, drawn), reference);
    const resampledB = hypervolume(gridMeans(perPromptB, drawn), reference);
    differences.push(resampledA - resampledB);
  }
  differences.sort((x, y) => x - y);

  const tail = (1 - level) / 2;
  return {
    observed: hypervolumeA - hypervolumeB,
    hypervolumeA,
    hypervolumeB,
    lower: quantile(differences, tail),
    upper: quantile(differences, 1 - tail),
    level,
    standardError: standardDeviation(differences),
    resamples,
  };
}

/** Checks both inputs against one shape and returns the prompt count. */
function checkPerPrompt(
  a: PerPromptRewards,
  b: PerPromptRewards,
  m: number,
  context: string,
): number {
  if (a.length === 0) {
    throw new RangeError(
      `${context}: A has no grid points; pass rewards shaped [grid point][prompt][objective]`,
    );
  }
  checkRowCount(b, a.length, context, "B");
  const prompts = a[0]!.length;
  if (prompts === 0) {
    throw new RangeError(
      `${context}: grid point 0 of A has no prompts; evaluate at least one prompt`,
    );
  }
  for (const [name, method] of [
    ["A", a],
    ["B", b],
  ] as const) {
    method.forEach((rows, point) => {
      if (rows.length !== prompts) {
        throw new RangeError(
          `${context}: grid point ${point} of ${name} has ${rows.length} prompts ` +
            `but grid point 0 of A has ${prompts}; evaluate both methods on the same prompts at every grid point`,
        );
      }
      checkRows(rows, context, `${name} grid point ${point} prompt`, m);
    });
  }
  return prompts;
}

/** Mean reward vector per grid point over the prompts listed in `promptIndices`. */
function gridMeans(perPrompt: PerPromptRewards, promptIndices: readonly number[]): number[][] {
  return perPrompt.map((rows) => {
    const sums = new Array<number>(rows[0]!.length).fill(0);
    for (const p of promptIndices) {
      const row = rows[p]!;
      for (let objective = 0; objective < sums.length; objective++)
        sums[objective]! += row[objective]!;
    }
    return sums.map((sum) => sum / promptIndices.length);
  });
}

/** Quantile of ascending `sorted` at probability q, interpolating linearly between neighbours. */
function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

function standardDeviation(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, x) => a + (x - mean) ** 2, 0) / (values.length - 1);
  return Math.sqrt(variance);
}
