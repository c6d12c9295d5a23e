// Exact hypervolume of a set of reward vectors (every objective higher-is-better): the Lebesgue
// measure of the region that at least one point dominates and that is bounded below by a reference
// point. Also the rule for one reference point shared by several methods compared together.

import { checkReference, checkRows, type Rows } from "./metric-inputs.js";

/**
 * Computes the hypervolume dominated by `points` above `reference`. Only points that exceed the
 * reference in every coordinate contribute. Dominated and duplicate points add nothing.
 *
 * Exact for every m. It uses a sort sweep for m = 2 (O(n log n)), slicing along the third objective
 * with a 2-D staircase for m = 3 (O(n²)), and for m ≥ 4 HSO slicing (While, Hingston, Barone and
 * Huband 2006) down to the m = 3 algorithm, which takes O(n^(m−1)) time in the worst case.
 * @throws RangeError for an empty reference, a point whose length differs from the reference's,
 *   or a non-finite value.
 */
export function hypervolume(points: Rows, reference: readonly number[]): number {
  const shifted = shiftAboveReference(points, reference, "hypervolume");
  if (shifted.length === 0) return 0;
  switch (reference.length) {
    case 1:
      return maxOf(shifted, 0);
    case 2:
      return sweep2d(shifted);
    case 3:
      return slice3d(shifted);
    default:
      return sliceVolume(shifted, 0, true);
  }
}

/**
 * Computes the same value as `hypervolume` with plain HSO slicing (While et al. 2006) for every m,
 * recursing objective by objective down to a maximum in one dimension. Slower than `hypervolume`,
 * and it shares no code with the specialised m = 2 and m = 3 paths, so it serves as a cross-check.
 * @throws RangeError for the same inputs as `hypervolume`.
 */
export function hypervolumeSlicing(points: Rows, reference: readonly number[]): number {
  const shifted = shiftAboveReference(points, reference, "hypervolumeSlicing");
  return shifted.length === 0 ? 0 : sliceVolume(shifted, 0, false);
}

/**
 * Returns one reference point for hypervolumes of several methods compared together. For each
 * objective i, with minᵢ and maxᵢ taken over every point of every set:
 *
 *   rᵢ = minᵢ − margin · (maxᵢ − minᵢ),
 *
 * and when maxᵢ = minᵢ the range is taken as 1, so rᵢ = minᵢ − margin. Pass π_ref's mean reward
 * vector as one of the sets so that the reference lies below it too. With margin > 0 every point
 * exceeds the reference in every coordinate. With margin = 0 a point that has the minimum in some
 * objective contributes no volume.
 * @param margin fraction of each objective's range to subtract, finite and ≥ 0 (default 0.1).
 * @throws RangeError when there is no point at all, when rows differ in length, or for a
 *   non-finite value or an invalid margin.
 */
export function sharedReferencePoint(pointSets: readonly Rows[], margin = 0.1): number[] {
  const context = "sharedReferencePoint";
  if (typeof margin !== "number" || !Number.isFinite(margin) || margin < 0) {
    throw new RangeError(
      `${context}: margin ${String(margin)} is invalid; pass a finite number ≥ 0 such as 0.1`,
    );
  }
  let width: number | undefined;
  const all: (readonly number[])[] = [];
  pointSets.forEach((set, index) => {
    if (set.length === 0) return;
    width = checkRows(set, context, `set ${index} point`, width);
    all.push(...set);
  });
  if (all.length === 0 || width === undefined || width === 0) {
    throw new RangeError(
      `${context}: the point sets contain no point; pass at least one reward vector`,
    );
  }
  const reference: number[] = [];
  for (let objective = 0; objective < width; objective++) {
    let min = Infinity;
    let max = -Infinity;
    for (const point of all) {
      min = Math.min(min, point[objective]!);
      max = Math.max(max, point[objective]!);
    }
    const range = max > min ? max - min : 1;
    reference.push(min - margin * range);
  }
  return reference;
}

/**
 * Validates the inputs, drops points that do not exceed the reference in every coordinate and
 * returns the others translated so that the reference is the origin.
 */
function shiftAboveReference(
  points: Rows,
  reference: readonly number[],
  context: string,
): number[][] {
  checkReference(reference, context);
  checkRows(points, context, "point", reference.length);
  const shifted: number[][] = [];
  for (const point of points) {
    if (point.every((value, i) => value > reference[i]!)) {
      shifted.push(point.map((value, i) => value - reference[i]!));
    }
  }
  return shifted;
}

/** Area of the union of boxes [0, x] × [0, y]: sweep by x descending, adding each rise in y. */
function sweep2d(points: readonly (readonly number[])[]): number {
  const sorted = [...points].sort((a, b) => b[0]! - a[0]! || b[1]! - a[1]!);
  let area = 0;
  let maxY = 0;
  for (const [x, y] of sorted) {
    if (y! > maxY) {
      area += x! * (y! - maxY);
      maxY = y!;
    }
  }
  return area;
}

/**
 * Volume of the union of boxes [0, x] × [0, y] × [0, z]. Points enter by z descending. Between two
 * consecutive z values, the cross-section is the area under the 2-D staircase of the points that
 * have entered so far.
 */
function slice3d(points: readonly (readonly number[])[]): number {
  const sorted = [...points].sort((a, b) => b[2]! - a[2]!);
  const staircase = new Staircase();
  let volume = 0;
  for (let k = 0; k < sorted.length; k++) {
    const point = sorted[k]!;
    staircase.insert(point[0]!, point[1]!);
    const nextZ = k + 1 < sorted.length ? sorted[k + 1]![2]! : 0;
    const height = point[2]! - nextZ;
    if (height > 0) volume += height * staircase.area();
  }
  return volume;
}

/** The non-dominated set of 2-D points, kept with x ascending and therefore y descending. */
class Staircase {
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];

  insert(x: number, y: number): void {
    const { xs, ys } = this;
    // The first point with x' ≥ x has the largest y' among all such points.
    let position = lowerBound(xs, x);
    if (position < xs.length && ys[position]! >= y) return;
    // Points with x' ≤ x and y' ≤ y are now dominated. They sit just before `position`, plus the
    // point at `position` when it has the same x.
    const end = position < xs.length && xs[position] === x ? position : position - 1;
    let start = end + 1;
    while (start > 0 && ys[start - 1]! <= y) start--;
    if (start <= end) {
      xs.splice(start, end - start + 1);
      ys.splice(start, end - start + 1);
      position = start;
    }
    xs.splice(position, 0, x);
    ys.splice(position, 0, y);
  }

  area(): number {
    let total = 0;
    let previousX = 0;
    for (let i = 0; i < this.xs.length; i++) {
      total += (this.xs[i]! - previousX) * this.ys[i]!;
      previousX = this.xs[i]!;
    }
    return total;
  }
}

/** Index of the first entry ≥ value in an ascending array, or its length when there is none. */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * HSO slicing over objectives axis, axis + 1, …: points enter by objective `axis` descending, and
 * each slab between two consecutive values contributes its depth times the hypervolume of the
 * non-dominated entered points in the remaining objectives. With `exact3d` the recursion stops at
 * three remaining objectives and calls slice3d, otherwise it goes down to one objective.
 */
function sliceVolume(
  points: readonly (readonly number[])[],
  axis: number,
  exact3d: boolean,
): number {
  const remaining = points[0]!.length - axis;
  if (remaining === 1) return maxOf(points, axis);
  if (exact3d && remaining === 3) return slice3d(points.map((point) => point.slice(axis)));

  const sorted = [...points].sort((a, b) => b[axis]! - a[axis]!);
  let active: (readonly number[])[] = [];
  let volume = 0;
  for (let k = 0; k < sorted.length; k++) {
    const point = sorted[k]!;
    if (!active.some((other) => weaklyDominatesFrom(other, point, axis + 1))) {
      active = active.filter((other) => !weaklyDominatesFrom(point, other, axis + 1));
      active.push(point);
    }
    const nextValue = k + 1 < sorted.length ? sorted[k + 1]![axis]! : 0;
    const depth = point[axis]! - nextValue;
    if (depth > 0) volume += depth * sliceVolume(active, axis + 1, exact3d);
  }
  return volume;
}

/** Largest value of objective `axis` over `points`. */
function maxOf(points: readonly (readonly number[])[], axis: number): number {
  let max = -Infinity;
  for (const point of points) max = Math.max(max, point[axis]!);
  return max;
}

/** True when a[i] ≥ b[i] for every objective i ≥ from. */
function weaklyDominatesFrom(a: readonly number[], b: readonly number[], from: number): boolean {
  for (let i = from; i < a.length; i++) if (a[i]! < b[i]!) return false;
  return true;
}
