// Data rows of the front plot: the markers, error bars and line segments of one panel, computed
// from the evaluated points. Missing means and standard errors are dropped here, so the
// Vega-Lite layers never see NaN.

import {
  finiteOrNull,
  formatWeight,
  POLICY_LABEL,
  REFERENCE_LABEL,
  type FrontData,
  type FrontPoint,
} from "./front.js";

/** One drawn marker in a panel, in data coordinates. */
interface MarkerRow {
  index: number;
  kind: string;
  label: string;
  x: number;
  y: number;
  /** Weight of the panel's first objective, which colours the point when m >= 3. */
  weight: number | null;
  /** Line segment id, which changes after each missing point so that the line breaks there. */
  segment: number;
}

/** One error bar from `low` to `high` on one axis, at `position` on the other axis. */
interface ErrorRow {
  kind: string;
  position: number;
  low: number;
  high: number;
}

/** Data of one panel: the policy markers, the π_ref marker and the error bars on each axis. */
export interface PanelRows {
  markers: MarkerRow[];
  reference: MarkerRow | null;
  errorX: ErrorRow[];
  errorY: ErrorRow[];
}

/** Returns a point's label: "w=0.3" (the first weight) for m = 2, else "w=(0.2, 0.3, 0.5)". */
export function weightLabel(weights: readonly number[]): string {
  if (weights.length === 2) return `w=${formatWeight(weights[0] ?? NaN)}`;
  return `w=(${weights.map(formatWeight).join(", ")})`;
}

/** Returns the labels of the points (and π_ref) that miss a mean, so they are not drawn. */
export function missingPointLabels(front: FrontData): string[] {
  const missing = front.points
    .filter((point) => point.means.some((mean) => finiteOrNull(mean) === null))
    .map((point) => weightLabel(point.weights));
  const reference = front.reference;
  if (reference && reference.means.some((mean) => finiteOrNull(mean) === null)) {
    missing.push(REFERENCE_LABEL);
  }
  return missing;
}

function pushErrorRows(
  point: FrontPoint,
  kind: string,
  axes: readonly [number, number],
  rows: PanelRows,
  x: number,
  y: number,
): void {
  const stderrX = finiteOrNull(point.stderrs[axes[0]]);
  const stderrY = finiteOrNull(point.stderrs[axes[1]]);
  if (stderrX !== null && stderrX > 0) {
    rows.errorX.push({ kind, position: y, low: x - stderrX, high: x + stderrX });
  }
  if (stderrY !== null && stderrY > 0) {
    rows.errorY.push({ kind, position: x, low: y - stderrY, high: y + stderrY });
  }
}

/**
 * Builds the rows of the panel that plots objective `axes[0]` against `axes[1]`. A point that
 * misses either mean is left out. Error bars are drawn only for positive finite standard errors.
 */
export function buildPanelRows(front: FrontData, axes: readonly [number, number]): PanelRows {
  const rows: PanelRows = { markers: [], reference: null, errorX: [], errorY: [] };
  let segment = 0;
  front.points.forEach((point, index) => {
    const x = finiteOrNull(point.means[axes[0]]);
    const y = finiteOrNull(point.means[axes[1]]);
    if (x === null || y === null) {
      segment += 1;
      return;
    }
    const weight = finiteOrNull(point.weights[axes[0]]);
    const label = weightLabel(point.weights);
    rows.markers.push({ index, kind: POLICY_LABEL, label, x, y, weight, segment });
    pushErrorRows(point, POLICY_LABEL, axes, rows, x, y);
  });
  const reference = front.reference;
  if (reference) {
    const x = finiteOrNull(reference.means[axes[0]]);
    const y = finiteOrNull(reference.means[axes[1]]);
    if (x !== null && y !== null) {
      const row = { index: -1, kind: REFERENCE_LABEL, label: REFERENCE_LABEL, x, y, weight: null };
      rows.reference = { ...row, segment: -1 };
      pushErrorRows(reference, REFERENCE_LABEL, axes, rows, x, y);
    }
  }
  return rows;
}
