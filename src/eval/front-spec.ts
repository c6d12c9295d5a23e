// Vega-Lite specifications of the trade-off front. Two objectives give one scatter of mean rewards
// connected in grid order, and three or more give one scatter per pair of objectives. Points with a
// missing mean are left out of the marks and listed in the subtitle.

import type { TopLevelSpec } from "vega-lite";

import { POLICY_LABEL, REFERENCE_LABEL, type FrontData } from "./front.js";
import { buildPanelRows, missingPointLabels, type PanelRows } from "./front-rows.js";

type LayerChild = Extract<TopLevelSpec, { layer: unknown }>["layer"][number];
type ConcatChild = Extract<TopLevelSpec, { concat: unknown }>["concat"][number];

/**
 * Mark names of the layers, so that tests and style sheets can find them in the SVG. Vega writes a
 * mark named `n` as a group with class `n_marks`, and a panel suffix `_p<k>` is added for m >= 3.
 */
export const MARK_NAMES = {
  points: "front_points",
  reference: "front_reference",
  labels: "front_labels",
  line: "front_line",
  errorX: "front_error_x",
  errorY: "front_error_y",
} as const;

const POLICY_COLOR = "#1f77b4";
const REFERENCE_COLOR = "#d62728";
const ERROR_BAR_COLOR = "#7f7f7f";
const FONT = "sans-serif";

function positionChannels(xTitle: string, yTitle: string) {
  return {
    x: { field: "x", type: "quantitative", title: xTitle, scale: { zero: false } },
    y: { field: "y", type: "quantitative", title: yTitle, scale: { zero: false } },
  } as const;
}

function errorBarLayers(rows: PanelRows, suffix: string): LayerChild[] {
  return [
    {
      name: MARK_NAMES.errorX + suffix,
      data: { values: rows.errorX },
      mark: { type: "rule", color: ERROR_BAR_COLOR, strokeWidth: 1 },
      encoding: {
        x: { field: "low", type: "quantitative" },
        x2: { field: "high" },
        y: { field: "position", type: "quantitative" },
      },
    },
    {
      name: MARK_NAMES.errorY + suffix,
      data: { values: rows.errorY },
      mark: { type: "rule", color: ERROR_BAR_COLOR, strokeWidth: 1 },
      encoding: {
        x: { field: "position", type: "quantitative" },
        y: { field: "low", type: "quantitative" },
        y2: { field: "high" },
      },
    },
  ];
}

/** Kind scales shared by the policy and π_ref markers, so that both appear in one legend. */
const KIND_DOMAIN = [POLICY_LABEL, REFERENCE_LABEL];
const KIND_SHAPE = {
  field: "kind",
  type: "nominal",
  title: null,
  scale: { domain: KIND_DOMAIN, range: ["circle", "diamond"] },
} as const;

/**
 * The kind legend of a pair panel. The policy's points are coloured by weight there, so the legend
 * fills the policy symbol grey and the π_ref symbol in π_ref's colour.
 */
const PAIR_KIND_SHAPE = {
  ...KIND_SHAPE,
  legend: {
    encoding: {
      symbols: {
        fill: {
          condition: {
            test: `datum.value === ${JSON.stringify(REFERENCE_LABEL)}`,
            value: REFERENCE_COLOR,
          },
          value: ERROR_BAR_COLOR,
        },
        // Set here so that the policy and π_ref layers build the same legend symbols.
        fillOpacity: { value: 1 },
      },
    },
  },
} as const;

function referenceLayer(rows: PanelRows, suffix: string): LayerChild {
  return {
    name: MARK_NAMES.reference + suffix,
    data: { values: rows.reference ? [rows.reference] : [] },
    mark: { type: "point", filled: true, size: 110, opacity: 1, color: REFERENCE_COLOR },
    encoding: { shape: PAIR_KIND_SHAPE },
  };
}

function twoObjectiveLayers(rows: PanelRows): LayerChild[] {
  const kindColor = {
    field: "kind",
    type: "nominal",
    title: null,
    scale: { domain: KIND_DOMAIN, range: [POLICY_COLOR, REFERENCE_COLOR] },
  } as const;
  return [
    {
      name: MARK_NAMES.line,
      data: { values: rows.markers },
      mark: { type: "line", color: POLICY_COLOR, strokeWidth: 1.5 },
      encoding: {
        order: { field: "index", type: "quantitative" },
        detail: { field: "segment", type: "nominal" },
      },
    },
    ...errorBarLayers(rows, ""),
    {
      name: MARK_NAMES.points,
      data: { values: rows.markers },
      mark: { type: "point", filled: true, size: 60, opacity: 1 },
      encoding: { color: kindColor, shape: KIND_SHAPE },
    },
    {
      name: MARK_NAMES.reference,
      data: { values: rows.reference ? [rows.reference] : [] },
      mark: { type: "point", filled: true, size: 110, opacity: 1 },
      encoding: { color: kindColor, shape: KIND_SHAPE },
    },
    {
      name: MARK_NAMES.labels,
      data: { values: rows.markers },
      mark: { type: "text", align: "left", baseline: "bottom", dx: 5, dy: -4, fontSize: 10 },
      encoding: { text: { field: "label", type: "nominal" } },
    },
  ];
}

function pairPanel(front: FrontData, first: number, second: number, panel: number): ConcatChild {
  const suffix = `_p${panel}`;
  const rows = buildPanelRows(front, [first, second]);
  const firstName = front.objectives[first] ?? "";
  const secondName = front.objectives[second] ?? "";
  return {
    title: { text: `${firstName} vs ${secondName}`, fontSize: 12 },
    width: 240,
    height: 220,
    encoding: positionChannels(`${firstName} (mean)`, `${secondName} (mean)`),
    layer: [
      ...errorBarLayers(rows, suffix),
      {
        name: MARK_NAMES.points + suffix,
        data: { values: rows.markers },
        mark: { type: "point", filled: true, size: 50, opacity: 1 },
        encoding: {
          color: {
            field: "weight",
            type: "quantitative",
            title: `w (${firstName})`,
            scale: { domain: [0, 1], scheme: "viridis" },
            legend: { orient: "bottom", direction: "horizontal", gradientLength: 160 },
          },
          shape: PAIR_KIND_SHAPE,
        },
      },
      referenceLayer(rows, suffix),
    ],
    resolve: { scale: { color: "shared", shape: "shared" } },
  };
}

function chartTitle(front: FrontData): { text: string; subtitle?: string; anchor: "start" } {
  const missing = missingPointLabels(front);
  if (missing.length === 0) return { text: front.title, anchor: "start" };
  return {
    text: front.title,
    subtitle: `not drawn, missing mean: ${missing.join("; ")}`,
    anchor: "start",
  };
}

/**
 * Builds the Vega-Lite specification of the front, with the data inlined. Expects a front that
 * passed `validateFront`.
 *
 * For m = 2 the x axis is objective 0 and the y axis objective 1. For m >= 3 each pair (i, j) with
 * i < j gets a panel, m(m-1)/2 in all, coloured by w_i.
 */
export function buildFrontSpec(front: FrontData): TopLevelSpec {
  const config = {
    font: FONT,
    background: "white",
    legend: { symbolOpacity: 1 },
  };
  if (front.objectives.length === 2) {
    const [xName, yName] = front.objectives;
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: chartTitle(front),
      width: 420,
      height: 340,
      config,
      encoding: positionChannels(`${xName} (mean)`, `${yName} (mean)`),
      layer: twoObjectiveLayers(buildPanelRows(front, [0, 1])),
    };
  }
  const panels: ConcatChild[] = [];
  for (let first = 0; first < front.objectives.length; first += 1) {
    for (let second = first + 1; second < front.objectives.length; second += 1) {
      panels.push(pairPanel(front, first, second, panels.length));
    }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: chartTitle(front),
    config,
    columns: 3,
    concat: panels,
    // Each panel plots other objectives and colours by another weight.
    resolve: {
      scale: { x: "independent", y: "independent", color: "independent" },
      legend: { color: "independent" },
    },
  };
}
