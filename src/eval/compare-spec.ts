// Vega-Lite specifications of the comparison plots, with the data inlined: every method's front on
// shared axes (one panel for m = 2, one per pair of objectives for m ≥ 3), reward i against wᵢ,
// and for m = 3 ternary plots of the grid coloured by each reward. Colours identify methods and
// are the same in every plot.

import type { TopLevelSpec } from "vega-lite";

import type { Comparison, MethodMetrics, PointSummary } from "./compare-metrics.js";

/**
 * Mark names of the layers. Vega writes a mark named `n` as a group with class `n_marks`, and
 * panels of a multi-panel plot add the suffix `_p<k>`.
 */
export const COMPARE_MARKS = {
  line: "compare_line",
  points: "compare_points",
  errorX: "compare_error_x",
  errorY: "compare_error_y",
  reference: "compare_reference",
  hypervolumeReference: "compare_hv_reference",
  curve: "compare_curve",
  curvePoints: "compare_curve_points",
  curveErrors: "compare_curve_errors",
  curveReference: "compare_curve_reference",
  ternaryEdges: "compare_ternary_edges",
  ternaryPoints: "compare_ternary_points",
} as const;

/** Tableau 10, repeated for more than ten methods. */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];
const FONT = "sans-serif";
const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

const KIND_GRID = "grid weight";
const KIND_REFERENCE = "π_ref";
const KIND_HV_REFERENCE = "HV reference point";

type Spec = Record<string, unknown>;

/** One figure of the report: a title, a caption and its specification. */
export interface CompareFigure {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** Builds every figure the report shows for this comparison, in page order. */
export function buildCompareFigures(comparison: Comparison): CompareFigure[] {
  const m = comparison.objectives.length;
  const [r0, r1] = comparison.hypervolume.referencePoint.map(formatNumber);
  const figures: CompareFigure[] = [];
  if (m === 2) {
    figures.push({
      id: "front",
      title: "Fronts",
      caption:
        `Mean rewards at each grid weight, connected in order of w(${comparison.objectives[1]}), ` +
        `with ± one standard error; ` +
        `diamonds are π_ref and the cross is the hypervolume reference point (${r0}, ${r1}).`,
      spec: topLevel(frontPanel(comparison, [0, 1], "")),
    });
  } else {
    figures.push({
      id: "front",
      title: "Fronts, pairwise projections",
      caption:
        `Mean rewards at each grid weight projected on each pair of objectives, with ± one ` +
        `standard error; diamonds are π_ref and the cross is the hypervolume reference point ` +
        `projected on the pair.`,
      spec: pairSpec(comparison),
    });
  }
  figures.push({
    id: "reward-curves",
    title: "Reward against its weight",
    caption:
      m === 2
        ? `Mean reward i against wᵢ with ± one standard error; dashed lines are π_ref.`
        : `Mean reward i at every grid weight against wᵢ; the line joins the average over the ` +
          `grid weights that share wᵢ, and dashed lines are π_ref.`,
    spec: rewardCurveSpec(comparison),
  });
  if (m === 3) {
    figures.push({
      id: "ternary",
      title: "Grid coloured by each reward",
      caption:
        `Each triangle is the weight simplex, with objective i at the corner where wᵢ = 1; ` +
        `a row colours every method's grid weights by one reward, on one colour scale.`,
      spec: ternarySpec(comparison),
    });
  }
  return figures;
}

// NOTE: the specifications are plain objects cast to TopLevelSpec, so tsc does not check them
// against Vega-Lite's types. The tests compile and render every figure instead.
function topLevel(body: Spec): TopLevelSpec {
  return {
    $schema: SCHEMA,
    config: { font: FONT, background: "white", legend: { symbolOpacity: 1, labelLimit: 360 } },
    ...body,
  } as unknown as TopLevelSpec;
}

function methodColor(comparison: Comparison): Spec {
  const names = comparison.methods.map((method) => method.name);
  return {
    field: "method",
    type: "nominal",
    title: "method",
    scale: { domain: names, range: names.map((_, index) => PALETTE[index % PALETTE.length]) },
    legend: { orient: "right" },
  };
}

const KIND_SHAPE: Spec = {
  field: "kind",
  type: "nominal",
  title: null,
  scale: {
    domain: [KIND_GRID, KIND_REFERENCE, KIND_HV_REFERENCE],
    range: ["circle", "diamond", "cross"],
  },
};

/** Rows of one method's points projected on objectives `axes`. */
function projectedRows(method: MethodMetrics, axes: readonly [number, number]) {
  const ordered = method.points
    .map((point, index) => ({ point, index }))
    .sort((a, b) => b.point.weights[0]! - a.point.weights[0]! || a.index - b.index);
  return ordered.map(({ point }, order) => ({
    method: method.name,
    kind: KIND_GRID,
    order,
    x: point.means[axes[0]]!,
    y: point.means[axes[1]]!,
  }));
}

/** Error bar rows on both axes. A point without a positive standard error gets none. */
function errorRows(methods: readonly MethodMetrics[], axes: readonly [number, number]) {
  const errorX: Spec[] = [];
  const errorY: Spec[] = [];
  for (const method of methods) {
    for (const point of [...method.points, method.reference]) {
      const [x, y] = [point.means[axes[0]]!, point.means[axes[1]]!];
      const [sx, sy] = [point.stderrs[axes[0]], point.stderrs[axes[1]]];
      if (typeof sx === "number" && sx > 0) {
        errorX.push({ method: method.name, low: x - sx, high: x + sx, position: y });
      }
      if (typeof sy === "number" && sy > 0) {
        errorY.push({ method: method.name, low: y - sy, high: y + sy, position: x });
      }
    }
  }
  return { errorX, errorY };
}

/** Drawn rows of one front panel over objectives `axes`, for every method. */
function frontRows(comparison: Comparison, axes: readonly [number, number]) {
  const points = comparison.methods.flatMap((method) => projectedRows(method, axes));
  const references = comparison.methods.map((method) => ({
    method: method.name,
    kind: KIND_REFERENCE,
    x: method.reference.means[axes[0]]!,
    y: method.reference.means[axes[1]]!,
  }));
  const reference = comparison.hypervolume.referencePoint;
  const hypervolumeReference = {
    kind: KIND_HV_REFERENCE,
    x: reference[axes[0]]!,
    y: reference[axes[1]]!,
  };
  return { points, references, hypervolumeReference, ...errorRows(comparison.methods, axes) };
}

/** Builds one front panel over objectives `axes`, with a line through the points when m = 2. */
function frontPanel(comparison: Comparison, axes: [number, number], suffix: string): Spec {
  const names = comparison.objectives;
  const color = methodColor(comparison);
  const rows = frontRows(comparison, axes);
  const layers: Spec[] = [];
  if (names.length === 2) {
    layers.push({
      name: COMPARE_MARKS.line + suffix,
      data: { values: rows.points },
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: { color, order: { field: "order", type: "quantitative" } },
    });
  }
  layers.push(
    {
      name: COMPARE_MARKS.errorX + suffix,
      data: { values: rows.errorX },
      mark: { type: "rule", strokeWidth: 1, opacity: 0.6 },
      encoding: {
        x: { field: "low", type: "quantitative" },
        x2: { field: "high" },
        y: { field: "position", type: "quantitative" },
        color,
      },
    },
    {
      name: COMPARE_MARKS.errorY + suffix,
      data: { values: rows.errorY },
      mark: { type: "rule", strokeWidth: 1, opacity: 0.6 },
      encoding: {
        x: { field: "position", type: "quantitative" },
        y: { field: "low", type: "quantitative" },
        y2: { field: "high" },
        color,
      },
    },
    {
      name: COMPARE_MARKS.points + suffix,
      data: { values: rows.points },
      mark: { type: "point", filled: true, size: 45, opacity: 1 },
      encoding: { color, shape: KIND_SHAPE },
    },
    {
      name: COMPARE_MARKS.reference + suffix,
      data: { values: rows.references },
      mark: { type: "point", filled: true, size: 120, opacity: 1, stroke: "black", strokeWidth: 1 },
      encoding: { color, shape: KIND_SHAPE },
    },
    {
      name: COMPARE_MARKS.hypervolumeReference + suffix,
      data: { values: [rows.hypervolumeReference] },
      mark: { type: "point", filled: true, size: 110, opacity: 1, color: "black" },
      encoding: { shape: KIND_SHAPE },
    },
  );

  const xName = names[axes[0]] ?? "";
  const yName = names[axes[1]] ?? "";
  return {
    width: names.length === 2 ? 460 : 250,
    height: names.length === 2 ? 360 : 230,
    encoding: {
      x: { field: "x", type: "quantitative", title: `${xName} (mean)`, scale: { zero: false } },
      y: { field: "y", type: "quantitative", title: `${yName} (mean)`, scale: { zero: false } },
    },
    layer: layers,
    resolve: { scale: { color: "shared", shape: "shared" } },
  };
}

function pairSpec(comparison: Comparison): TopLevelSpec {
  const m = comparison.objectives.length;
  const panels: Spec[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const panel = frontPanel(comparison, [i, j], `_p${panels.length}`);
      const title = `${comparison.objectives[i]} vs ${comparison.objectives[j]}`;
      panels.push({ title: { text: title, fontSize: 12 }, ...panel });
    }
  }
  return topLevel({
    columns: 3,
    concat: panels,
    resolve: { scale: { x: "independent", y: "independent", color: "shared", shape: "shared" } },
  });
}

/** Rows of reward i against wᵢ for every method. */
function curveRows(comparison: Comparison, objective: number) {
  return comparison.methods.flatMap((method) =>
    method.points.map((point: PointSummary) => {
      const mean = point.means[objective]!;
      const stderr = point.stderrs[objective];
      const spread = typeof stderr === "number" && stderr > 0 ? stderr : 0;
      return {
        method: method.name,
        kind: KIND_GRID,
        w: point.weights[objective]!,
        y: mean,
        low: mean - spread,
        high: mean + spread,
      };
    }),
  );
}

function curvePanel(comparison: Comparison, objective: number, panel: number): Spec {
  const name = comparison.objectives[objective] ?? "";
  const suffix = `_p${panel}`;
  const color = methodColor(comparison);
  const rows = curveRows(comparison, objective);
  const references = comparison.methods.map((method) => ({
    method: method.name,
    y: method.reference.means[objective]!,
  }));
  const x = {
    field: "w",
    type: "quantitative",
    title: `w (${name})`,
    scale: { domain: [0, 1] },
  };
  return {
    title: { text: name, fontSize: 12 },
    width: 250,
    height: 210,
    layer: [
      {
        name: COMPARE_MARKS.curveReference + suffix,
        data: { values: references },
        mark: { type: "rule", strokeDash: [4, 3], strokeWidth: 1 },
        encoding: { y: { field: "y", type: "quantitative" }, color },
      },
      {
        name: COMPARE_MARKS.curveErrors + suffix,
        data: { values: rows.filter((row) => row.high > row.low) },
        mark: { type: "rule", strokeWidth: 1, opacity: 0.6 },
        encoding: {
          x,
          y: { field: "low", type: "quantitative" },
          y2: { field: "high" },
          color,
        },
      },
      {
        name: COMPARE_MARKS.curve + suffix,
        data: { values: rows },
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x,
          y: { aggregate: "mean", field: "y", type: "quantitative" },
          color,
        },
      },
      {
        name: COMPARE_MARKS.curvePoints + suffix,
        data: { values: rows },
        mark: { type: "point", filled: true, size: 30, opacity: 0.8 },
        encoding: {
          x,
          y: {
            field: "y",
            type: "quantitative",
            title: `${name} (mean)`,
            scale: { zero: false },
          },
          color,
        },
      },
    ],
  };
}

function rewardCurveSpec(comparison: Comparison): TopLevelSpec {
  const panels = comparison.objectives.map((_, objective) =>
    curvePanel(comparison, objective, objective),
  );
  return topLevel({
    columns: 3,
    concat: panels,
    resolve: { scale: { y: "independent", color: "shared" } },
  });
}

const SQRT3_2 = Math.sqrt(3) / 2;

/** Position of w on the triangle with e₀ at (0, 0), e₁ at (1, 0) and e₂ at (1/2, √3/2). */
function ternaryPosition(weights: readonly number[]): { x: number; y: number } {
  const [, w1 = 0, w2 = 0] = weights;
  return { x: w1 + 0.5 * w2, y: SQRT3_2 * w2 };
}

function ternaryPanel(
  comparison: Comparison,
  method: MethodMetrics,
  objective: number,
  panel: number,
): Spec {
  const suffix = `_p${panel}`;
  const objectiveName = comparison.objectives[objective] ?? "";
  const corners = [
    { x: 0, y: 0 },
    { x: 1, y: 0 },
    { x: 0.5, y: SQRT3_2 },
  ];
  const edges = [...corners, corners[0]!].map((corner, order) => ({ ...corner, order }));
  // Objective names sit below the two lower corners and above the top one.
  const labels = corners.map((corner, index) => ({
    x: corner.x,
    y: index === 2 ? corner.y + 0.07 : corner.y - 0.1,
    label: comparison.objectives[index],
  }));
  const points = method.points.map((point) => ({
    ...ternaryPosition(point.weights),
    value: point.means[objective]!,
  }));
  const hidden = { axis: null };
  const x = { field: "x", type: "quantitative", scale: { domain: [-0.2, 1.2] }, ...hidden };
  const y = { field: "y", type: "quantitative", scale: { domain: [-0.18, 1] }, ...hidden };
  return {
    title: { text: method.name, fontSize: 11 },
    width: 180,
    height: 165,
    view: { stroke: null },
    layer: [
      {
        name: COMPARE_MARKS.ternaryEdges + suffix,
        data: { values: edges },
        mark: { type: "line", color: "#888", strokeWidth: 1 },
        encoding: { x, y, order: { field: "order", type: "quantitative" } },
      },
      {
        data: { values: labels },
        mark: { type: "text", fontSize: 10, color: "#444" },
        encoding: { x, y, text: { field: "label", type: "nominal" } },
      },
      {
        name: COMPARE_MARKS.ternaryPoints + suffix,
        data: { values: points },
        mark: { type: "point", filled: true, size: 90, opacity: 1, shape: "circle" },
        encoding: {
          x,
          y,
          color: {
            field: "value",
            type: "quantitative",
            title: `${objectiveName} (mean)`,
            scale: { scheme: "viridis", zero: false },
          },
        },
      },
    ],
  };
}

function ternarySpec(comparison: Comparison): TopLevelSpec {
  let panel = 0;
  const rows = comparison.objectives.map((name, objective) => ({
    title: { text: `coloured by ${name}`, fontSize: 12, anchor: "start" },
    hconcat: comparison.methods.map((method) =>
      ternaryPanel(comparison, method, objective, panel++),
    ),
    resolve: { scale: { color: "shared" } },
  }));
  return topLevel({
    vconcat: rows,
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
  });
}

/** Formats a coordinate with four significant digits. */
function formatNumber(value: number): string {
  return String(Number(value.toPrecision(4)));
}
