// Steerability of a conditioned policy over a grid of weight vectors: do the mean rewards follow
// the weights? W has one row per grid point (a weight vector on the simplex) and R has the policy's
// mean reward vector at that grid point, one column per objective, higher is better.

import { SUM_TOLERANCE } from "../clp/weights.js";
import { spearman } from "../rl/stats.js";
import { checkRowCount, checkRows, type Rows } from "./metric-inputs.js";

/**
 * Returns, for each objective i, the Spearman rank correlation between wᵢ and Rᵢ across the grid
 * points. Tied values get their average rank. An entry is NaN when wᵢ or Rᵢ is constant over the
 * grid, because the correlation is then undefined.
 * @throws RangeError unless W and R have the same number of rows (at least 2) and of columns, all
 *   finite.
 */
export function rankCorrelations(weights: Rows, rewards: Rows): number[] {
  const m = checkGrid(weights, rewards, "rankCorrelations");
  if (weights.length < 2) {
    throw new RangeError(
      `rankCorrelations: the grid has ${weights.length} point(s); a correlation needs at least 2`,
    );
  }
  return Array.from({ length: m }, (_, objective) =>
    spearman(
      weights.map((row) => row[objective]!),
      rewards.map((row) => row[objective]!),
    ),
  );
}

/** Violations of monotonic steering along one edge of the simplex. */
export interface EdgeMonotonicity {
  /** The edge's objectives, i < j. */
  i: number;
  j: number;
  /** Grid rows on the edge (every weight other than wᵢ and wⱼ is 0), ordered by wᵢ increasing. */
  rows: number[];
  /** Consecutive pairs compared: rows.length − 1, or 0 for an empty edge. */
  pairs: number;
  /** Pairs where Rᵢ fell by more than the tolerance as wᵢ grew. */
  rewardIDecreases: number;
  /** Pairs where Rⱼ rose by more than the tolerance as wᵢ grew. */
  rewardJIncreases: number;
  /** rewardIDecreases + rewardJIncreases. */
  violations: number;
}

/** Per-edge monotonicity counts and their sums over all edges. */
export interface MonotonicityReport {
  /** One entry per pair i < j, in lexicographic order of (i, j). */
  edges: EdgeMonotonicity[];
  totals: { pairs: number; rewardIDecreases: number; rewardJIncreases: number; violations: number };
}

/**
 * Counts steering violations along every edge of the simplex. The edge (i, j) contains the grid
 * points whose weights are exactly 0 outside objectives i and j, vertices included. Ordered by wᵢ
 * increasing, each consecutive pair is a violation of objective i when Rᵢ drops by more than
 * `tolerance`, and of objective j when Rⱼ rises by more than `tolerance`.
 * @param options.tolerance reward change, in reward units, ignored as noise (default 0).
 * @throws RangeError for mismatched shapes, non-finite values, weight rows that are not on the
 *   simplex (entries ≥ 0 summing to 1 within SUM_TOLERANCE), two rows of one edge with the same
 *   wᵢ, or an invalid tolerance.
 */
export function edgeMonotonicity(
  weights: Rows,
  rewards: Rows,
  options: { tolerance?: number } = {},
): MonotonicityReport {
  const context = "edgeMonotonicity";
  const m = checkGrid(weights, rewards, context);
  const tolerance = options.tolerance ?? 0;
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(
      `${context}: tolerance ${String(tolerance)} is invalid; pass a finite number ≥ 0`,
    );
  }
  weights.forEach((row, index) => checkOnSimplex(row, index, context));

  const edges: EdgeMonotonicity[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const rows = edgeRows(weights, i, j);
      const edge: EdgeMonotonicity = {
        i,
        j,
        rows,
        pairs: 0,
        rewardIDecreases: 0,
        rewardJIncreases: 0,
        violations: 0,
      };
      for (let k = 1; k < rows.length; k++) {
        const before = rewards[rows[k - 1]!]!;
        const after = rewards[rows[k]!]!;
        edge.pairs++;
        if (after[i]! < before[i]! - tolerance) edge.rewardIDecreases++;
        if (after[j]! > before[j]! + tolerance) edge.rewardJIncreases++;
      }
      edge.violations = edge.rewardIDecreases + edge.rewardJIncreases;
      edges.push(edge);
    }
  }
  const totals = { pairs: 0, rewardIDecreases: 0, rewardJIncreases: 0, violations: 0 };
  for (const edge of edges) {
    totals.pairs += edge.pairs;
    totals.rewardIDecreases += edge.rewardIDecreases;
    totals.rewardJIncreases += edge.rewardJIncreases;
    totals.violations += edge.violations;
  }
  return { edges, totals };
}

/** The span of one objective's mean rewards over the grid. */
export interface RewardRange {
  min: number;
  max: number;
  /** max − min. */
  range: number;
}

/**
 * Returns, per objective, the smallest and largest mean reward over the grid and their difference.
 * @throws RangeError for an empty R, rows of different lengths or non-finite values.
 */
export function rewardRanges(rewards: Rows): RewardRange[] {
  const m = checkRows(rewards, "rewardRanges", "reward row");
  if (rewards.length === 0 || m === 0) {
    throw new RangeError(
      `rewardRanges: the reward matrix is empty; pass one mean reward vector per grid point`,
    );
  }
  return Array.from({ length: m }, (_, objective) => {
    let min = Infinity;
    let max = -Infinity;
    for (const row of rewards) {
      min = Math.min(min, row[objective]!);
      max = Math.max(max, row[objective]!);
    }
    return { min, max, range: max - min };
  });
}

/** Checks that W and R are finite with matching shapes and returns the number of objectives. */
function checkGrid(weights: Rows, rewards: Rows, context: string): number {
  const m = checkRows(weights, context, "weight row");
  checkRowCount(rewards, weights.length, context, "the reward matrix");
  checkRows(rewards, context, "reward row", m);
  return m;
}

function checkOnSimplex(row: readonly number[], index: number, context: string): void {
  const formatted = `[${row.join(", ")}]`;
  if (row.some((w) => w < 0)) {
    throw new RangeError(
      `${context}: weight row ${index} ${formatted} has a negative entry; grid weights must be ≥ 0`,
    );
  }
  const total = row.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > SUM_TOLERANCE) {
    throw new RangeError(
      `${context}: weight row ${index} ${formatted} sums to ${total}; grid weights must sum to 1`,
    );
  }
}

/** Rows of the edge (i, j), ordered by wᵢ increasing. */
function edgeRows(weights: Rows, i: number, j: number): number[] {
  const rows: number[] = [];
  weights.forEach((row, index) => {
    if (row.every((w, k) => k === i || k === j || w === 0)) rows.push(index);
  });
  rows.sort((a, b) => weights[a]![i]! - weights[b]![i]!);
  for (let k = 1; k < rows.length; k++) {
    if (weights[rows[k]!]![i] === weights[rows[k - 1]!]![i]) {
      throw new RangeError(
        `edgeMonotonicity: weight rows ${rows[k - 1]} and ${rows[k]} ` +
          `both have w${i} = ${weights[rows[k]!]![i]} ` +
          `on the edge (${i}, ${j}); average repeated grid points before the check`,
      );
    }
  }
  return rows;
}
