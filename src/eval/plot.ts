// Plot of the trade-off front: compiles the Vega-Lite specification to Vega, renders it to SVG in
// Node with Vega's headless view (no canvas package is needed for SVG), and writes the SVG and the
// HTML report page.

import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import * as vega from "vega";
import { compile } from "vega-lite";

import { validateFront, type FrontData } from "./front.js";
import { renderFrontHtml } from "./front-html.js";
import { buildFrontSpec } from "./front-spec.js";

export type { FrontData, FrontPoint } from "./front.js";
export { POLICY_LABEL, REFERENCE_LABEL, validateFront } from "./front.js";
export { buildFrontSpec, MARK_NAMES } from "./front-spec.js";
export { renderFrontHtml } from "./front-html.js";
export { escapeHtml, htmlPage } from "./html-page.js";

/**
 * Renders the front to a standalone SVG document (starting with `<svg`). Throws an Error that
 * names the offending point when the front is invalid (see `validateFront`).
 */
export async function renderFrontSvg(front: FrontData): Promise<string> {
  validateFront(front);
  const vegaSpec = compile(buildFrontSpec(front)).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `text` to `path` through a temporary file in the same folder and a rename. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tempPath = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tempPath, text, "utf8");
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}

/**
 * Writes `front.svg` and the self-contained `front.html` into `dir`, creating it if needed. Each
 * file is written to a temporary file and renamed, so a reader never sees a partial file.
 */
export async function writeFrontReport(
  dir: string,
  front: FrontData,
): Promise<{ svgPath: string; htmlPath: string }> {
  const svg = await renderFrontSvg(front);
  const html = renderFrontHtml(front, svg);
  await mkdir(dir, { recursive: true });
  const svgPath = join(dir, "front.svg");
  const htmlPath = join(dir, "front.html");
  await writeFileAtomic(svgPath, svg);
  await writeFileAtomic(htmlPath, html);
  return { svgPath, htmlPath };
}
