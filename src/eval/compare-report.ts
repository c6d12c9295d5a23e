// The comparison report of several methods' evaluations: loads the front.json files, measures
// them against each other, renders the plots to SVG with Vega in Node, and writes a self-contained
// HTML page and compare.json with every number.

import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

import { type CompareMethod } from "./compare-inputs.js";
import { renderCompareHtml, type RenderedFigure } from "./compare-html.js";
import { compareMethods, type CompareOptions, type Comparison } from "./compare-metrics.js";
import { buildCompareFigures } from "./compare-spec.js";
import { loadEvalFile, ReportError } from "./eval-file.js";
import { writeFileAtomic } from "./plot.js";

export { ReportError } from "./eval-file.js";
export type { CompareMethod } from "./compare-inputs.js";
export type { Comparison, CompareOptions, MethodMetrics } from "./compare-metrics.js";

/** Options of writeCompareReport. */
export interface CompareReportOptions extends CompareOptions {
  /** Method labels in input order, by default each file's title. */
  names?: readonly string[];
}

/**
 * Loads one evaluation per input (a run folder or a front.json file) and labels each method.
 * @throws ReportError for an unreadable file, a wrong number of names, or two equal labels.
 */
export function loadMethods(inputs: readonly string[], names?: readonly string[]): CompareMethod[] {
  if (inputs.length === 0) {
    throw new ReportError("no evaluation to compare; pass run folders or front.json files");
  }
  if (names !== undefined && names.length !== inputs.length) {
    throw new ReportError(
      `${names.length} names for ${inputs.length} evaluations; give one name per input`,
    );
  }
  const methods = inputs.map((input, index) => {
    const file = loadEvalFile(input);
    return { name: names?.[index] ?? file.title, file };
  });
  methods.forEach((method, index) => {
    const earlier = methods.findIndex((other) => other.name === method.name);
    if (earlier !== index) {
      throw new ReportError(
        `${methods[earlier]!.file.path} and ${method.file.path} have the same label ` +
          `${JSON.stringify(method.name)}; name the methods apart with --names a,b,…`,
      );
    }
  });
  return methods;
}

/** Compiles a Vega-Lite specification and renders it to an SVG document with Vega in Node. */
export async function renderSpecSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Builds the comparison, renders its figures and returns the numbers and the HTML page. */
export async function buildCompareReport(
  methods: readonly CompareMethod[],
  options: CompareOptions = {},
): Promise<{ comparison: Comparison; html: string }> {
  const comparison = compareMethods(methods, options);
  const figures: RenderedFigure[] = [];
  for (const figure of buildCompareFigures(comparison)) {
    const { id, title, caption } = figure;
    figures.push({ id, title, caption, svg: await renderSpecSvg(figure.spec) });
  }
  return { comparison, html: renderCompareHtml(comparison, methods, figures) };
}

/** Serialises a comparison as JSON, writing NaN and ±Infinity as null. */
export function comparisonJson(comparison: Comparison): string {
  const replacer = (_key: string, value: unknown) =>
    typeof value === "number" && !Number.isFinite(value) ? null : value;
  return `${JSON.stringify(comparison, replacer, 2)}\n`;
}

/**
 * Compares the evaluations in `inputs` and writes the HTML page to `htmlPath` and compare.json in
 * the same folder, creating the folder if needed. Each file is written through a temporary file
 * and a rename.
 * @throws ReportError when an input cannot be read or the methods cannot be compared.
 */
export async function writeCompareReport(
  inputs: readonly string[],
  htmlPath: string,
  options: CompareReportOptions = {},
): Promise<{ htmlPath: string; jsonPath: string; comparison: Comparison }> {
  const methods = loadMethods(inputs, options.names);
  const { comparison, html } = await buildCompareReport(methods, options);
  const folder = dirname(htmlPath);
  const jsonPath = join(folder, "compare.json");
  await mkdir(folder, { recursive: true });
  await writeFileAtomic(jsonPath, comparisonJson(comparison));
  await writeFileAtomic(htmlPath, html);
  return { htmlPath, jsonPath, comparison };
}
