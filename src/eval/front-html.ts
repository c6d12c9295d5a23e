// The self-contained HTML report of a trade-off front: title, decoding settings, the plot as inline
// SVG, a table of every evaluated weight vector and π_ref, and example outputs. The page has no
// scripts and loads nothing, and its Content-Security-Policy forbids both.

import {
  finiteOrNull,
  formatStatistic,
  formatWeight,
  REFERENCE_LABEL,
  type FrontData,
  type FrontPoint,
} from "./front.js";
import { escapeHtml, htmlPage } from "./html-page.js";

const STYLE = `
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; }
h2 { font-size: 1.15em; margin-top: 1.8em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
tr.reference { background: #fdf0f0; }
td.missing { background: #fff3cd; color: #8a4b00; font-weight: bold; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
details { margin: 0.4em 0; }
summary { cursor: pointer; font-weight: bold; }
dl.sample { margin: 0.4em 0 0.8em 1em; border-left: 3px solid #ddd; padding-left: 0.8em; }
dl.sample dt { font-weight: bold; font-size: 0.85em; color: #555; }
dl.sample dd { margin: 0 0 0.4em 0; white-space: pre-wrap; }
`;

function formatDecodingValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json;
}

function renderDecoding(decoding: Record<string, unknown>): string {
  const entries = Object.entries(decoding);
  if (entries.length === 0) return "<p>No decoding settings were recorded.</p>";
  const rows = entries.map(
    ([key, value]) =>
      `<tr><th class="text" scope="row">${escapeHtml(key)}</th>` +
      `<td class="text">${escapeHtml(formatDecodingValue(value))}</td></tr>`,
  );
  return `<table class="decoding">\n${rows.join("\n")}\n</table>`;
}

function pointName(point: FrontPoint, isReference: boolean): string {
  if (isReference) return REFERENCE_LABEL;
  return `(${point.weights.map(formatWeight).join(", ")})`;
}

/** Returns one table cell "mean ± stderr", marked as missing when the mean is not finite. */
function meanCell(mean: number | null | undefined, stderr: number | null | undefined): string {
  const finiteMean = finiteOrNull(mean);
  const finiteStderr = finiteOrNull(stderr);
  const stderrText = finiteStderr === null ? "n/a" : formatStatistic(finiteStderr);
  if (finiteMean === null) {
    const shown = typeof mean === "number" ? String(mean) : "NaN";
    return `<td class="missing" title="missing mean, not drawn">${shown} ± ${stderrText}</td>`;
  }
  return `<td>${formatStatistic(finiteMean)} ± ${stderrText}</td>`;
}

function scalarCell(value: number | null | undefined): string {
  const finite = finiteOrNull(value);
  if (finite === null) {
    const shown = typeof value === "number" ? String(value) : "NaN";
    return `<td class="missing">${shown}</td>`;
  }
  return `<td>${formatStatistic(finite)}</td>`;
}

function tableRow(front: FrontData, point: FrontPoint, isReference: boolean): string {
  const cells = [`<th class="text" scope="row">${escapeHtml(pointName(point, isReference))}</th>`];
  const missing: string[] = [];
  front.objectives.forEach((name, index) => {
    cells.push(meanCell(point.means[index], point.stderrs[index]));
    if (finiteOrNull(point.means[index]) === null) missing.push(name);
  });
  cells.push(scalarCell(point.kl), scalarCell(point.meanLength));
  const note =
    missing.length === 0 ? "" : `missing mean of ${missing.join(", ")}; not drawn in the plot`;
  cells.push(`<td class="text">${escapeHtml(note)}</td>`);
  const rowClass = isReference ? ' class="reference"' : "";
  return `<tr${rowClass}>${cells.join("")}</tr>`;
}

function renderTable(front: FrontData): string {
  const header = [
    `<th class="text" scope="col">w (${escapeHtml(front.objectives.join(", "))})</th>`,
    ...front.objectives.map((name) => `<th scope="col">${escapeHtml(name)} mean ± s.e.</th>`),
    '<th scope="col">KL(π‖π_ref) [nats]</th>',
    '<th scope="col">mean length [words]</th>',
    '<th class="text" scope="col">note</th>',
  ];
  const rows = front.points.map((point) => tableRow(front, point, false));
  if (front.reference) rows.push(tableRow(front, front.reference, true));
  return (
    `<table class="front">\n<thead><tr>${header.join("")}</tr></thead>\n` +
    `<tbody>\n${rows.join("\n")}\n</tbody>\n</table>`
  );
}

function renderSampleGroup(point: FrontPoint, isReference: boolean): string {
  const samples = point.samples ?? [];
  if (samples.length === 0) return "";
  const name = isReference ? REFERENCE_LABEL : `w = ${pointName(point, false)}`;
  const items = samples.map(
    (sample) =>
      `<dl class="sample"><dt>source</dt><dd>${escapeHtml(sample.source)}</dd>` +
      `<dt>summary</dt><dd>${escapeHtml(sample.summary)}</dd></dl>`,
  );
  const count = `${samples.length} sample${samples.length === 1 ? "" : "s"}`;
  return (
    `<details><summary>${escapeHtml(name)}: ${count}</summary>\n` +
    `${items.join("\n")}\n</details>`
  );
}

function renderSamples(front: FrontData): string {
  const groups = front.points.map((point) => renderSampleGroup(point, false));
  if (front.reference) groups.push(renderSampleGroup(front.reference, true));
  const present = groups.filter((group) => group !== "");
  if (present.length === 0) return "";
  return `<h2>Sample outputs</h2>\n${present.join("\n")}`;
}

/**
 * Renders the report page of a validated front around its SVG plot. `svg` is inserted as it is,
 * so it must come from `renderFrontSvg` (Vega escapes the text it writes). All other text is
 * escaped here.
 */
export function renderFrontHtml(front: FrontData, svg: string): string {
  return htmlPage(front.title, STYLE, `<figure>
${svg}
</figure>
<h2>Decoding settings</h2>
${renderDecoding(front.decoding)}
<h2>Results per weight vector</h2>
<p>Means are of the raw rewards, ± one standard error of the mean. KL is the mean sequence
KL(π‖π_ref) in nats, estimated from the samples as the mean of Σₜ log π/π_ref; near 0 the estimate
can be slightly negative.</p>
${renderTable(front)}
${renderSamples(front)}`);
}
