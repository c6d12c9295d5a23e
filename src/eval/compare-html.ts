// The self-contained HTML page of a comparison: the command and settings, the plots as inline SVG,
// the metrics table and sample outputs side by side. The page has no scripts and loads nothing,
// and its Content-Security-Policy forbids both.

import type { Comparison, MethodMetrics } from "./compare-metrics.js";
import { weightKey, type CompareMethod } from "./compare-inputs.js";
import { escapeHtml, htmlPage } from "./html-page.js";
import { formatStatistic, formatWeight } from "./front.js";

/** Describes where the hypervolume reference point comes from. */
function referencePointOrigin(comparison: Comparison): string {
  const { given, margin } = comparison.hypervolume;
  if (given) return "given with --reference-point, so hypervolumes compare across reports that use the same point";
  return (
    `which lies ${Math.round(margin * 100)}% of each objective's range below the lowest mean of any method's ` +
    "grid weights and π_ref, so it moves when methods are added or removed and hypervolumes compare only within one report"
  );
}

/** A figure rendered to SVG. */
export interface RenderedFigure {
  id: string;
  title: string;
  caption: string;
  svg: string;
}

const STYLE = `
body { font-family: sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; }
h2 { font-size: 1.15em; margin-top: 1.8em; }
h3 { font-size: 1em; margin-top: 1.2em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; vertical-align: top; }
th { background: #f3f3f3; }
tbody th { min-width: 12em; }
td { white-space: nowrap; }
td.text, th.text { text-align: left; white-space: normal; }
td.summary { text-align: left; white-space: pre-wrap; max-width: 18em; }
td.missing { color: #888; font-style: italic; }
.scroll { overflow-x: auto; }
pre.command { background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; word-break: break-all; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
details summary { cursor: pointer; }
ul.notes li { margin: 0.3em 0; }
`;

/** Formats a statistic, or "n/a" for null and NaN. */
function formatValue(value: number | null): string {
  return value === null || Number.isNaN(value) ? "n/a" : formatStatistic(value);
}

function formatShare(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function formatVector(values: readonly number[]): string {
  return `(${values.map((value) => formatStatistic(value)).join(", ")})`;
}

function cell(text: string, className?: string): string {
  const attribute = className === undefined ? "" : ` class="${className}"`;
  return `<td${attribute}>${escapeHtml(text)}</td>`;
}

function headerRow(labels: readonly string[]): string {
  return `<tr>${labels.map((label) => `<th scope="col">${escapeHtml(label)}</th>`).join("")}</tr>`;
}

function renderSettings(comparison: Comparison): string {
  const { settings, bootstrap, hypervolume } = comparison;
  const rows: [string, string][] = [
    ["test prompts", String(settings.prompts === 0 ? "all" : settings.prompts)],
    ["samples per prompt", String(settings.samplesPerPrompt)],
    ["max new tokens", String(settings.maxNewTokens)],
    ["temperature", String(settings.temperature)],
    ["sampling seed", String(settings.seed)],
    ["max source tokens", String(settings.maxSourceTokens)],
    [
      "per-prompt rewards",
      comparison.perPromptCount === null ? "none" : `${comparison.perPromptCount} prompts`,
    ],
    ["hypervolume reference point", formatVector(hypervolume.referencePoint)],
    [
      "bootstrap",
      `${bootstrap.resamples} paired resamples of the prompts, seed ${bootstrap.seed}, ` +
        `${Math.round(bootstrap.level * 100)}% percentile interval`,
    ],
  ];
  const body = rows
    .map(
      ([key, value]) =>
        `<tr><th class="text" scope="row">${escapeHtml(key)}</th>${cell(value, "text")}</tr>`,
    )
    .join("\n");
  return `<table class="settings">\n${body}\n</table>`;
}

function renderMethods(comparison: Comparison): string {
  const header = headerRow([
    "method",
    "kind",
    "file",
    "format",
    "KL coefficient α",
    "grid weights",
  ]);
  const rows = comparison.methods.map((method, index) =>
    [
      `<th class="text" scope="row">${escapeHtml(method.name)}` +
        `${index === 0 ? " (baseline)" : ""}</th>`,
      cell(method.method ?? "not recorded", "text"),
      cell(method.path, "text"),
      cell(method.format ?? "before clp-eval/1", "text"),
      cell(method.klCoef === null ? "—" : String(method.klCoef)),
      cell(String(method.gridPoints)),
    ].join(""),
  );
  return tableHtml("methods", header, rows);
}

function tableHtml(className: string, header: string, rows: readonly string[]): string {
  return (
    `<div class="scroll"><table class="${className}">\n<thead>${header}</thead>\n<tbody>\n` +
    `${rows.map((row) => `<tr>${row}</tr>`).join("\n")}\n</tbody>\n</table></div>`
  );
}

function differenceCell(method: MethodMetrics): string {
  const versus = method.versusFirst;
  if (versus === null) return cell("baseline", "text");
  const difference = versus.hypervolumeDifference;
  if (difference === null) return cell("not available, see the notes", "missing");
  return cell(
    `${formatStatistic(difference.observed)} [${formatStatistic(difference.lower)}, ` +
      `${formatStatistic(difference.upper)}]`,
  );
}

function dominanceCells(method: MethodMetrics): string {
  const versus = method.versusFirst;
  if (versus === null) return cell("—") + cell("—");
  const shared = versus.partialGrid ? ` of ${versus.sharedWeights} shared` : "";
  return (
    cell(`${formatShare(versus.dominatesFirst)}${shared}`) +
    cell(`${formatShare(versus.dominatedByFirst)}${shared}`)
  );
}

function renderMetrics(comparison: Comparison): string {
  const level = Math.round(comparison.bootstrap.level * 100);
  const header = headerRow([
    "method",
    "hypervolume",
    `HV − HV(baseline) [${level}% interval]`,
    "dominates baseline",
    "dominated by baseline",
    ...comparison.objectives.map((name) => `Spearman ρ(w, ${name})`),
    "edge monotonicity violations",
    ...comparison.objectives.map((name) => `${name} range`),
    "mean KL(π‖π_ref) [nats]",
    "vertex checks passed",
  ]);
  const rows = comparison.methods.map((method) => {
    const { totals } = method.monotonicity;
    const checks = method.vertexChecks;
    return [
      `<th class="text" scope="row">${escapeHtml(method.name)}</th>`,
      cell(formatStatistic(method.hypervolume)),
      differenceCell(method),
      dominanceCells(method),
      ...method.rankCorrelations.map((rho) => cell(formatValue(rho))),
      // Each step along an edge can violate both of its objectives, so the maximum is 2 × steps.
      cell(`${totals.violations} of ${2 * totals.pairs} checks`),
      ...method.rewardRanges.map((range) =>
        cell(`${formatStatistic(range.min)} – ${formatStatistic(range.max)}`),
      ),
      cell(formatValue(method.meanKl)),
      cell(checks === null ? "not recorded" : `${checks.passed} of ${checks.total}`),
    ].join("");
  });
  return tableHtml("metrics", header, rows);
}

/** Weights whose samples are shown: the vertices, then the grid weight closest to the centre. */
export function sampleWeights(method: CompareMethod): number[][] {
  const m = method.file.objectives.length;
  const weights = method.file.points.map((point) => point.weights);
  const vertices = weights.filter((w) => w.some((value) => value === 1));
  vertices.sort((a, b) => a.indexOf(1) - b.indexOf(1));
  const inner = weights.filter((w) => !w.some((value) => value === 1));
  const distance = (w: readonly number[]) =>
    w.reduce((sum, value) => sum + (value - 1 / m) ** 2, 0);
  const centre = inner.reduce<number[] | null>(
    (best, w) => (best === null || distance(w) < distance(best) ? w : best),
    null,
  );
  return centre === null ? vertices : [...vertices, centre];
}

function summaryCell(summary: string | undefined, note: string): string {
  return summary === undefined ? cell(note, "missing") : cell(summary, "summary");
}

function renderSampleTable(methods: readonly CompareMethod[], weights: readonly number[]): string {
  const key = weightKey(weights);
  const atWeight = methods.map(
    (method) => method.file.points.find((point) => weightKey(point.weights) === key) ?? null,
  );
  const sources: string[] = [];
  for (const point of atWeight) {
    for (const sample of point?.samples ?? []) {
      if (!sources.includes(sample.source)) sources.push(sample.source);
    }
  }
  const title = `<h3>w = (${weights.map(formatWeight).join(", ")})</h3>`;
  if (sources.length === 0) return `${title}\n<p>No method recorded samples at this weight.</p>`;
  const reference = methods[0]!.file.reference.samples;
  const header = headerRow(["source", "π_ref", ...methods.map((method) => method.name)]);
  const rows = sources.map((source) => {
    const cells = [
      `<td class="text"><details><summary>${escapeHtml(preview(source))}</summary>` +
        `${escapeHtml(source)}</details></td>`,
      summaryCell(reference.find((sample) => sample.source === source)?.summary, "no sample"),
      ...atWeight.map((point) =>
        point === null
          ? cell("not evaluated at this weight", "missing")
          : summaryCell(
              point.samples.find((sample) => sample.source === source)?.summary,
              "no sample",
            ),
      ),
    ];
    return cells.join("");
  });
  return `${title}\n${tableHtml("samples", header, rows)}`;
}

function preview(source: string): string {
  const line = source.replace(/\s+/g, " ").trim();
  return line.length <= 80 ? line : `${line.slice(0, 77)}…`;
}

function renderFigure(figure: RenderedFigure): string {
  return (
    `<h2>${escapeHtml(figure.title)}</h2>\n<figure id="figure-${escapeHtml(figure.id)}" ` +
    `class="plot">\n${figure.svg}\n` +
    `<figcaption>${escapeHtml(figure.caption)}</figcaption>\n</figure>`
  );
}

/**
 * Renders the report page. Each figure's `svg` is inserted as it is, so it must come from Vega's
 * SVG renderer, which escapes the text it writes. All other text is escaped here.
 */
export function renderCompareHtml(
  comparison: Comparison,
  methods: readonly CompareMethod[],
  figures: readonly RenderedFigure[],
): string {
  const title = `Comparison of ${methods.length} methods on ${comparison.objectives.join(" vs ")}`;
  const first = methods[0]?.name ?? "";
  const notes = comparison.notes.map((note) => `<li>${escapeHtml(note)}</li>`).join("\n");
  const samples = sampleWeights(methods[0]!).map((weights) => renderSampleTable(methods, weights));
  return htmlPage(title, STYLE, `<p>Produced by:</p>
<pre class="command">${escapeHtml(comparison.command ?? "(not recorded)")}</pre>
<h2>Methods</h2>
${renderMethods(comparison)}
<h2>Decoding settings and sample budget</h2>
<p>Every method was evaluated with these settings on the same number of test prompts (and on the
same prompts, where front.json records their fingerprint).</p>
${renderSettings(comparison)}
${notes === "" ? "" : `<h2>Notes</h2>\n<ul class="notes">\n${notes}\n</ul>`}
${figures.map(renderFigure).join("\n")}
<h2>Metrics</h2>
<p>Hypervolume is measured over each method's grid means (π_ref excluded) above the shared
reference point ${escapeHtml(formatVector(comparison.hypervolume.referencePoint))}, ${referencePointOrigin(comparison)}. The baseline is the first method, ${escapeHtml(first)}, and
the interval of HV − HV(baseline) is a paired percentile bootstrap over test prompts. Noise in the
grid means raises a front's hypervolume, so a policy that ignores w can score close to one that
steers: read hypervolume together with ρ and the edge counts. Dominance
shares count the grid weights where one method's
mean reward vector dominates the other's. Spearman ρ correlates wᵢ with reward i over the grid.
Edge monotonicity counts the steps along each edge of the simplex, ordered by wᵢ, where reward i
falls or reward j rises. Vertex checks are those clp eval recorded: reward i at its own vertex
exceeds every other vertex by more than two standard errors of the difference, paired over test
prompts. Mean KL is a sample estimate, the
mean over sampled summaries of Σₜ log π/π_ref, so a policy close to π_ref can show a small
negative value.</p>
${renderMetrics(comparison)}
<h2>Sample outputs</h2>
<p>The summaries each method wrote for the same sources at the vertices and the centre of the
grid; π_ref is the reference policy of ${escapeHtml(first)}.</p>
${samples.join("\n")}`);
}
