// Tests of the trade-off front plot and report page: SVG marks, panels, missing means, input
// checks and HTML escaping, rendered with the real Vega and Vega-Lite packages.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, mock, test } from "node:test";

import {
  escapeHtml,
  renderFrontSvg,
  validateFront,
  writeFrontReport,
  type FrontData,
  type FrontPoint,
} from "../src/eval/plot.js";

const tempDir = mkdtempSync(join(tmpdir(), "clp-plot-test-"));
after(() => rmSync(tempDir, { recursive: true, force: true }));

const GRID = Array.from({ length: 11 }, (_, index) => index / 10);
const GRID_LABELS = GRID.map((w) => `w=${w}`);

/** Builds a concave two-objective front on the 11-point grid, with one sample per weight. */
function twoObjectiveFront(): FrontData {
  const points: FrontPoint[] = GRID.map((w) => ({
    weights: [w, 1 - w],
    means: [0.2 + 0.5 * Math.sqrt(w), 0.7 - 0.5 * w * w],
    stderrs: [0.02, 0.015],
    kl: 3 * Math.abs(w - 0.5),
    meanLength: 12 + 6 * w,
    samples: [{ source: `source text ${w}`, summary: `summary at w=${w}` }],
  }));
  return {
    title: "coverage vs brevity",
    objectives: ["coverage", "brevity"],
    points,
    reference: { weights: [], means: [0.35, 0.45], stderrs: [0.02, 0.02], kl: 0, meanLength: 15 },
    decoding: { temperature: 0.7, topP: 0.95, maxNewTokens: 48 },
  };
}

/** Builds a front for m objectives on the simplex grid with step 1/4. */
function manyObjectiveFront(objectives: string[]): FrontData {
  const m = objectives.length;
  const points: FrontPoint[] = [];
  const steps = 4;
  const visit = (prefix: number[], remaining: number): void => {
    if (prefix.length === m - 1) {
      const weights = [...prefix, remaining].map((count) => count / steps);
      points.push({
        weights,
        means: weights.map((w, index) => 0.1 * index + 0.5 * w),
        stderrs: weights.map(() => 0.01),
        kl: 1,
        meanLength: 10,
      });
      return;
    }
    for (let count = 0; count <= remaining; count += 1) {
      visit([...prefix, count], remaining - count);
    }
  };
  visit([], steps);
  return {
    title: `${m} objectives`,
    objectives,
    points,
    reference: {
      weights: [],
      means: objectives.map(() => 0.3),
      stderrs: objectives.map(() => 0.01),
      kl: 0,
      meanLength: 15,
    },
    decoding: {},
  };
}

/** Returns the contents of every mark group named `name` (Vega writes the class `name_marks`). */
function markGroups(svg: string, name: string): string[] {
  // An empty group is written as a self-closing tag.
  const pattern = new RegExp(
    `<g class="mark-[a-z]+ role-mark ${name}_marks"[^>]*?(?:/>|>(.*?)</g>)`,
    "g",
  );
  return [...svg.matchAll(pattern)].map((match) => match[1] ?? "");
}

function countTags(fragment: string, tag: string): number {
  return fragment.split(`<${tag} `).length - 1;
}

function textContents(fragment: string): string[] {
  return [...fragment.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1] ?? "");
}

/** Returns the text of the elements in groups of the given role, such as `role-axis-title`. */
function roleTexts(svg: string, role: string): string[] {
  const pattern = new RegExp(`<g class="mark-text ${role}"[^>]*>(.*?)</g>`, "g");
  return [...svg.matchAll(pattern)].flatMap((match) => textContents(match[1] ?? ""));
}

/** Checks that the start and end tags of an XML document nest properly under one root. */
function assertWellNested(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  for (const match of xml.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:"[^"]*"|'[^']*'|[^'">])*)>/g)) {
    const [, closing, name, rest] = match;
    if (closing) {
      assert.equal(stack.pop(), name, `unexpected </${name}> at offset ${match.index}`);
    } else if (!rest?.endsWith("/")) {
      if (stack.length === 0) roots += 1;
      stack.push(name ?? "");
    } else if (stack.length === 0) {
      roots += 1;
    }
  }
  assert.deepEqual(stack, [], "unclosed elements at the end of the document");
  assert.equal(roots, 1, "document must have exactly one root element");
}

function withMockedWarn<T>(run: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warn = mock.method(console, "warn", () => undefined);
  return run()
    .then((result) => ({
      result,
      warnings: warn.mock.calls.map((call) => call.arguments.map(String).join(" ")),
    }))
    .finally(() => warn.mock.restore());
}

describe("renderFrontSvg with two objectives", () => {
  test("produces a well-nested svg document", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    assert.ok(svg.startsWith("<svg"), `starts with ${JSON.stringify(svg.slice(0, 20))}`);
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assertWellNested(svg);
  });

  test("draws one symbol and one label per weight", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    const points = markGroups(svg, "front_points");
    assert.equal(points.length, 1);
    assert.equal(countTags(points[0] ?? "", "path"), 11);
    const labels = markGroups(svg, "front_labels");
    assert.equal(labels.length, 1);
    assert.deepEqual(textContents(labels[0] ?? ""), GRID_LABELS);
  });

  test("connects points in one line", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    const lines = markGroups(svg, "front_line");
    assert.equal(lines.length, 1);
    assert.equal(countTags(lines[0] ?? "", "path"), 1);
  });

  test("draws error bars in both directions", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    // 11 policy points and π_ref, each with a positive standard error on both axes.
    assert.equal(countTags(markGroups(svg, "front_error_x")[0] ?? "", "line"), 12);
    assert.equal(countTags(markGroups(svg, "front_error_y")[0] ?? "", "line"), 12);
  });

  test("omits error bars without a standard error", async () => {
    const front = twoObjectiveFront();
    front.points[2]!.stderrs = [NaN, 0.01];
    front.points[3]!.stderrs = [0, 0.01];
    const svg = await renderFrontSvg(front);
    assert.equal(countTags(markGroups(svg, "front_error_x")[0] ?? "", "line"), 10);
    assert.equal(countTags(markGroups(svg, "front_error_y")[0] ?? "", "line"), 12);
  });

  test("uses objective names as axis titles", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    const titles = roleTexts(svg, "role-axis-title");
    assert.deepEqual(titles, ["coverage (mean)", "brevity (mean)"]);
  });

  test("draws the reference as a distinct legend entry", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    const reference = markGroups(svg, "front_reference");
    assert.equal(countTags(reference[0] ?? "", "path"), 1);
    const legend = roleTexts(svg, "role-legend-label");
    assert.ok(legend.includes("π_ref"), `legend labels ${JSON.stringify(legend)}`);
    const pointFill = /fill="([^"]+)"/.exec(markGroups(svg, "front_points")[0] ?? "")?.[1];
    const referenceFill = /fill="([^"]+)"/.exec(reference[0] ?? "")?.[1];
    assert.ok(pointFill !== undefined, "policy points have no fill");
    assert.ok(referenceFill !== undefined, "reference point has no fill");
    assert.notEqual(referenceFill, pointFill);
  });

  test("omits the reference when it is null", async () => {
    const front = twoObjectiveFront();
    front.reference = null;
    const svg = await renderFrontSvg(front);
    assert.equal(countTags(markGroups(svg, "front_reference")[0] ?? "", "path"), 0);
  });

  test("uses only a generic font family", async () => {
    const svg = await renderFrontSvg(twoObjectiveFront());
    const families = new Set([...svg.matchAll(/font-family="([^"]*)"/g)].map((match) => match[1]));
    assert.deepEqual([...families], ["sans-serif"]);
  });

  test("renders without warnings", async () => {
    const { warnings } = await withMockedWarn(() => renderFrontSvg(twoObjectiveFront()));
    assert.deepEqual(warnings, []);
  });

  test("escapes markup in names", async () => {
    const front = twoObjectiveFront();
    front.objectives = ["<script>alert(1)</script>", "a & b"];
    const svg = await renderFrontSvg(front);
    assert.ok(!svg.includes("<script"));
    assert.ok(svg.includes("&lt;script&gt;alert(1)&lt;/script&gt; (mean)"));
    assert.ok(svg.includes("a &amp; b (mean)"));
    assertWellNested(svg);
  });
});

describe("renderFrontSvg with missing means", () => {
  test("leaves a NaN mean out and breaks the line", async () => {
    const front = twoObjectiveFront();
    front.points[4]!.means = [0.5, NaN];
    const { result: svg, warnings } = await withMockedWarn(() => renderFrontSvg(front));
    assert.deepEqual(warnings, []);
    assert.equal(countTags(markGroups(svg, "front_points")[0] ?? "", "path"), 10);
    const labels = textContents(markGroups(svg, "front_labels")[0] ?? "");
    assert.deepEqual(
      labels,
      GRID_LABELS.filter((label) => label !== "w=0.4"),
    );
    assert.equal(markGroups(svg, "front_line").length, 2);
    assert.ok(svg.includes("not drawn, missing mean: w=0.4"));
    assert.ok(!svg.includes("NaN"));
  });

  test("treats null means from JSON as missing", async () => {
    const front = twoObjectiveFront();
    front.points[0]!.means = [NaN, 0.7];
    front.reference!.means = [0.35, NaN];
    const roundTripped = JSON.parse(JSON.stringify(front)) as FrontData;
    assert.equal(roundTripped.points[0]!.means[0], null);
    const svg = await renderFrontSvg(roundTripped);
    assert.equal(countTags(markGroups(svg, "front_points")[0] ?? "", "path"), 10);
    assert.equal(countTags(markGroups(svg, "front_reference")[0] ?? "", "path"), 0);
    assert.ok(svg.includes("not drawn, missing mean: w=0; π_ref"));
  });

  test("renders a front with every mean missing", async () => {
    const front = twoObjectiveFront();
    for (const point of front.points) point.means = [NaN, NaN];
    front.reference = null;
    const svg = await renderFrontSvg(front);
    assert.ok(svg.startsWith("<svg"));
    assert.equal(countTags(markGroups(svg, "front_points")[0] ?? "", "path"), 0);
  });

  test("renders a front without points", async () => {
    const front = twoObjectiveFront();
    front.points = [];
    const svg = await renderFrontSvg(front);
    assert.equal(countTags(markGroups(svg, "front_points")[0] ?? "", "path"), 0);
    assert.equal(countTags(markGroups(svg, "front_reference")[0] ?? "", "path"), 1);
  });
});

describe("renderFrontSvg with three or more objectives", () => {
  test("draws one panel per pair for m = 3", async () => {
    const front = manyObjectiveFront(["coverage", "brevity", "faithfulness"]);
    assert.equal(front.points.length, 15);
    const { result: svg, warnings } = await withMockedWarn(() => renderFrontSvg(front));
    assert.deepEqual(warnings, []);
    for (const panel of [0, 1, 2]) {
      const points = markGroups(svg, `front_points_p${panel}`);
      assert.equal(points.length, 1, `panel ${panel}`);
      assert.equal(countTags(points[0] ?? "", "path"), 15, `points in panel ${panel}`);
      const reference = markGroups(svg, `front_reference_p${panel}`);
      assert.equal(countTags(reference[0] ?? "", "path"), 1, `reference in panel ${panel}`);
    }
    assert.equal(markGroups(svg, "front_points_p3").length, 0);
    const panelTitles = roleTexts(svg, "role-title-text");
    const expectedTitles = [
      "coverage vs brevity",
      "coverage vs faithfulness",
      "brevity vs faithfulness",
    ];
    for (const title of expectedTitles) {
      assert.ok(panelTitles.includes(title), `panel titles ${JSON.stringify(panelTitles)}`);
    }
    const axisTitles = roleTexts(svg, "role-axis-title");
    assert.deepEqual(axisTitles.filter((title) => title === "faithfulness (mean)").length, 2);
    assertWellNested(svg);
  });

  test("colours each panel by its first weight", async () => {
    const svg = await renderFrontSvg(manyObjectiveFront(["a", "b", "c"]));
    const legendTitles = roleTexts(svg, "role-legend-title");
    assert.deepEqual(legendTitles.filter((title) => title.startsWith("w (")).sort(), [
      "w (a)",
      "w (a)",
      "w (b)",
    ]);
    const fills = new Set(
      [...(markGroups(svg, "front_points_p0")[0] ?? "").matchAll(/fill="([^"]+)"/g)].map(
        (match) => match[1],
      ),
    );
    // Weights 0, 1/4, 1/2, 3/4 and 1 give five colours.
    assert.equal(fills.size, 5);
  });

  test("draws six panels for m = 4", async () => {
    const svg = await renderFrontSvg(manyObjectiveFront(["a", "b", "c", "d"]));
    for (let panel = 0; panel < 6; panel += 1) {
      assert.equal(markGroups(svg, `front_points_p${panel}`).length, 1, `panel ${panel}`);
    }
    assert.equal(markGroups(svg, "front_points_p6").length, 0);
  });

  test("leaves a point out only where it misses a mean", async () => {
    const front = manyObjectiveFront(["a", "b", "c"]);
    front.points[0]!.means[2] = NaN;
    const svg = await renderFrontSvg(front);
    // Panel 0 plots a against b, panels 1 and 2 use c.
    assert.equal(countTags(markGroups(svg, "front_points_p0")[0] ?? "", "path"), 15);
    assert.equal(countTags(markGroups(svg, "front_points_p1")[0] ?? "", "path"), 14);
    assert.equal(countTags(markGroups(svg, "front_points_p2")[0] ?? "", "path"), 14);
  });
});

describe("validateFront", () => {
  const cases: { name: string; change: (front: FrontData) => void; message: RegExp }[] = [
    {
      name: "means too short",
      change: (front) => (front.points[3]!.means = [0.1]),
      message: /^points\[3\]: means has 1 entry but there are 2 objectives/,
    },
    {
      name: "stderrs too long",
      change: (front) => (front.points[7]!.stderrs = [0.1, 0.1, 0.1]),
      message: /^points\[7\]: stderrs has 3 entries/,
    },
    {
      name: "weights too long",
      change: (front) => (front.points[0]!.weights = [0.5, 0.25, 0.25]),
      message: /^points\[0\]: weights has 3 entries/,
    },
    {
      name: "weights off the simplex",
      change: (front) => (front.points[5]!.weights = [0.5, 0.6]),
      message: /^points\[5\]: weights \[0\.5,0\.6\] sum to 1\.1/,
    },
    {
      name: "negative weight",
      change: (front) => (front.points[2]!.weights = [-0.1, 1.1]),
      message: /^points\[2\]: weights\[0\] is -0\.1/,
    },
    {
      name: "negative stderr",
      change: (front) => (front.points[1]!.stderrs = [0.1, -0.1]),
      message: /^points\[1\]: stderrs\[1\] is -0\.1/,
    },
    {
      name: "string mean",
      change: (front) => ((front.points[6]!.means as unknown[]) = [0.1, "0.2"]),
      message: /^points\[6\]: means\[1\] must be a number/,
    },
    {
      name: "reference means mismatch",
      change: (front) => (front.reference!.means = [0.1, 0.2, 0.3]),
      message: /^reference: means has 3 entries/,
    },
    {
      name: "one objective",
      change: (front) => (front.objectives = ["coverage"]),
      message: /at least 2 objectives/,
    },
    {
      name: "duplicate objective",
      change: (front) => (front.objectives = ["coverage", "coverage"]),
      message: /"coverage" appears twice/,
    },
    {
      name: "malformed sample",
      change: (front) => ((front.points[9]!.samples as unknown[]) = [{ source: "x" }]),
      message: /^points\[9\]: samples\[0\]/,
    },
  ];
  for (const { name, change, message } of cases) {
    test(`rejects ${name}`, () => {
      const front = twoObjectiveFront();
      change(front);
      assert.throws(() => validateFront(front), { message });
    });
  }

  test("accepts weights rounded to three decimals", () => {
    const front = manyObjectiveFront(["a", "b", "c"]);
    front.points[0]!.weights = [0.333, 0.333, 0.333];
    assert.doesNotThrow(() => validateFront(front));
  });

  test("renderFrontSvg rejects mismatched lengths", async () => {
    const front = twoObjectiveFront();
    front.points[3]!.means = [0.1, 0.2, 0.3];
    await assert.rejects(renderFrontSvg(front), /^Error: points\[3\]: means has 3 entries/);
  });
});

describe("writeFrontReport", () => {
  test("writes the svg and the html page", async () => {
    const dir = join(tempDir, "report", "nested");
    const paths = await writeFrontReport(dir, twoObjectiveFront());
    assert.deepEqual(paths, { svgPath: join(dir, "front.svg"), htmlPath: join(dir, "front.html") });
    assert.deepEqual(readdirSync(dir).sort(), ["front.html", "front.svg"]);
    const svg = readFileSync(paths.svgPath, "utf8");
    assert.ok(svg.startsWith("<svg"));
    const html = readFileSync(paths.htmlPath, "utf8");
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.ok(html.includes(svg), "page must inline the svg");
    assert.ok(html.includes("<title>coverage vs brevity</title>"));
  });

  test("page has one table row per weight and π_ref", async () => {
    const { htmlPath } = await writeFrontReport(join(tempDir, "rows"), twoObjectiveFront());
    const html = readFileSync(htmlPath, "utf8");
    const body = /<table class="front">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? "";
    const rows = body.split("<tr").length - 1;
    assert.equal(rows, 12);
    assert.ok(body.includes('<th class="text" scope="row">(0.3, 0.7)</th><td>0.4739 ± 0.02</td>'));
    assert.ok(body.includes('<tr class="reference"><th class="text" scope="row">π_ref</th>'));
    assert.ok(body.includes("<td>0.35 ± 0.02</td><td>0.45 ± 0.02</td><td>0</td><td>15</td>"));
  });

  test("page lists the decoding settings", async () => {
    const { htmlPath } = await writeFrontReport(join(tempDir, "decoding"), twoObjectiveFront());
    const html = readFileSync(htmlPath, "utf8");
    const row = (key: string, value: string): string =>
      `<th class="text" scope="row">${key}</th><td class="text">${value}</td>`;
    assert.ok(html.includes(row("temperature", "0.7")));
    assert.ok(html.includes(row("maxNewTokens", "48")));
  });

  test("page flags a NaN mean in the table", async () => {
    const front = twoObjectiveFront();
    front.points[4]!.means = [0.5, NaN];
    const { htmlPath } = await writeFrontReport(join(tempDir, "nan"), front);
    const html = readFileSync(htmlPath, "utf8");
    const cell = '<td class="missing" title="missing mean, not drawn">NaN ± 0.015</td>';
    assert.ok(html.includes(cell));
    assert.ok(html.includes("missing mean of brevity; not drawn in the plot"));
    assert.equal(html.split('class="missing"').length - 1, 1);
  });

  test("page escapes markup in samples and names", async () => {
    const front = twoObjectiveFront();
    front.title = 'Front <b>"bold"</b>';
    front.points[0]!.samples = [
      { source: "<script>alert('source')</script>", summary: "a & b <img src=x onerror=alert(1)>" },
    ];
    front.decoding = { "<stop>": "</td><script>" };
    const { htmlPath } = await writeFrontReport(join(tempDir, "escape"), front);
    const html = readFileSync(htmlPath, "utf8");
    assert.ok(!/<script/i.test(html), "page must contain no script element");
    assert.ok(!/<img/i.test(html), "page must contain no img element");
    assert.ok(html.includes("&lt;script&gt;alert(&#39;source&#39;)&lt;/script&gt;"));
    assert.ok(html.includes("a &amp; b &lt;img src=x onerror=alert(1)&gt;"));
    assert.ok(html.includes("<h1>Front &lt;b&gt;&quot;bold&quot;&lt;/b&gt;</h1>"));
    assert.ok(html.includes("&lt;stop&gt;"));
  });

  test("page shows samples per weight", async () => {
    const { htmlPath } = await writeFrontReport(join(tempDir, "samples"), twoObjectiveFront());
    const html = readFileSync(htmlPath, "utf8");
    assert.equal(html.split("<details>").length - 1, 11);
    assert.ok(html.includes("<summary>w = (0.3, 0.7): 1 sample</summary>"));
    assert.ok(html.includes("<dd>summary at w=0.3</dd>"));
  });

  test("page loads nothing from outside", async () => {
    const { htmlPath } = await writeFrontReport(join(tempDir, "offline"), twoObjectiveFront());
    const html = readFileSync(htmlPath, "utf8");
    assert.ok(!/<(script|link|img|iframe|object)\b/i.test(html));
    assert.ok(!/\b(src|href)=/i.test(html));
    assert.ok(!/url\(|@import/i.test(html));
    assert.ok(html.includes("default-src 'none'"));
  });

  test("replaces an earlier report", async () => {
    const dir = join(tempDir, "replace");
    await writeFrontReport(dir, twoObjectiveFront());
    const front = twoObjectiveFront();
    front.title = "second run";
    const { htmlPath } = await writeFrontReport(dir, front);
    assert.ok(readFileSync(htmlPath, "utf8").includes("<h1>second run</h1>"));
    assert.deepEqual(readdirSync(dir).sort(), ["front.html", "front.svg"]);
  });

  test("writes nothing for an invalid front", async () => {
    const dir = join(tempDir, "invalid");
    const front = twoObjectiveFront();
    front.points[2]!.stderrs = [0.1];
    await assert.rejects(writeFrontReport(dir, front), /^Error: points\[2\]: stderrs has 1 entry/);
    assert.equal(existsSync(dir), false);
  });
});

describe("escapeHtml", () => {
  test("escapes the five markup characters", () => {
    assert.equal(
      escapeHtml(`<a href="x">'&'</a>`),
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });
});
