// Pareto dominance between reward vectors. Every objective is higher-is-better.

import { checkRows, type Rows } from "./metric-inputs.js";

/**
 * Returns true when `a` is ≥ `b` in every objective and > in at least one. Equal vectors do not
 * dominate each other. Both vectors must have the same length, which is not checked here.
 */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let strictlyBetter = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return false;
    if (a[i]! > b[i]!) strictlyBetter = true;
  }
  return strictlyBetter;
}

/**
 * Returns the indices, in ascending order, of the points that no other point dominates. Because
 * equal points do not dominate each other, every copy of a duplicated non-dominated point keeps
 * its index. Takes O(n²·m) time for n points with m objectives.
 * @throws RangeError when rows differ in length or contain a non-finite value.
 */
export function paretoFront(points: Rows): number[] {
  checkRows(points, "paretoFront", "point");
  const front: number[] = [];
  for (let candidate = 0; candidate < points.length; candidate++) {
    const isDominated = points.some((other) => dominates(other, points[candidate]!));
    if (!isDominated) front.push(candidate);
  }
  return front;
}
