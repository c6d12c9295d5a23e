/**
 * Reward-weight vectors w on the probability simplex Δₘ: parsing, validation and grids.
 * A vector is never silently rewritten: a bad one is rejected with a message naming it.
 */

/** Thrown for a weight vector that is not on the simplex or has the wrong length. */
export class WeightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightError";
  }
}

/** Allowed deviation of Σ wᵢ from 1, so vectors written with a few decimals (1/3 as 0.333333) pass. */
export const SUM_TOLERANCE = 1e-4;

function show(w: readonly number[]): string {
  return `[${w.join(", ")}]`;
}

/**
 * Checks that `w` has one entry per objective, every entry is a finite number ≥ 0, and the entries
 * sum to 1 within SUM_TOLERANCE. Zero entries are valid.
 */
export function validateWeights(w: readonly number[], objectives: readonly string[]): void {
  const m = objectives.length;
  if (w.length !== m) {
    throw new WeightError(
      `weights ${show(w)} have ${w.length} ${w.length === 1 ? "entry" : "entries"} but the policy has ${m} objectives (${objectives.join(", ")}); give one weight per objective`,
    );
  }
  w.forEach((x, i) => {
    if (typeof x !== "number" || Number.isNaN(x) || !Number.isFinite(x)) {
      throw new WeightError(`weights ${show(w)}: entry ${i} (${objectives[i]}) is not a finite number`);
    }
    if (x < 0) {
      throw new WeightError(`weights ${show(w)}: entry ${i} (${objectives[i]}) is negative; weights must be ≥ 0`);
    }
  });
  const total = w.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > SUM_TOLERANCE) {
    throw new WeightError(`weights ${show(w)} sum to ${total}; they must sum to 1 (e.g. ${show(w.map(() => +(1 / m).toFixed(4)))})`);
  }
}

/** A decimal number as written on a command line or in a file: no hex, no "Infinity", no empty string. */
export const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses "0.2,0.8" into numbers, then validates it against `objectives`. */
export function parseWeights(text: string, objectives: readonly string[]): number[] {
  const parts = text.split(",").map((p) => p.trim());
  const w = parts.map((p) => (DECIMAL_NUMBER.test(p) ? Number(p) : Number.NaN));
  w.forEach((x, i) => {
    if (Number.isNaN(x)) {
      throw new WeightError(`weights "${text}": entry ${i} ("${parts[i]}") is not a number; write them like 0.2,0.8`);
    }
  });
  validateWeights(w, objectives);
  return w;
}

/**
 * The uniform simplex lattice with step 1/divisions: every w with wᵢ = kᵢ/divisions and Σ kᵢ =
 * divisions, in lexicographic order of k descending (11 points for m = 2, 66 for m = 3 at 10).
 */
export function simplexGrid(m: number, divisions: number): number[][] {
  if (!Number.isInteger(m) || m < 1) throw new WeightError(`simplex grid: m must be a positive integer, got ${m}`);
  if (!Number.isInteger(divisions) || divisions < 1) {
    throw new WeightError(`simplex grid: divisions must be a positive integer, got ${divisions}`);
  }
  const out: number[][] = [];
  const walk = (prefix: number[], left: number): void => {
    if (prefix.length === m - 1) {
      out.push([...prefix, left].map((k) => k / divisions));
      return;
    }
    for (let k = left; k >= 0; k--) walk([...prefix, k], left - k);
  };
  walk([], divisions);
  return out;
}

/** The i-th vertex eᵢ of Δₘ. */
export function vertex(m: number, i: number): number[] {
  return Array.from({ length: m }, (_, j) => (j === i ? 1 : 0));
}
