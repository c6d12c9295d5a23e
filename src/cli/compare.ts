/**
 * `clp compare`: one HTML report that compares the evaluations of several methods.
 */
import { parseArgs } from "node:util";

import { DECIMAL_NUMBER } from "../clp/weights.js";
import { COMPARE_DEFAULTS, type Comparison } from "../eval/compare-metrics.js";
import { writeCompareReport } from "../eval/compare-report.js";
import { formatStatistic } from "../eval/front.js";
// main.ts imports this module too. The cycle is safe because UsageError is only used when a
// command runs, after both modules have loaded.
import { UsageError } from "./main.js";

export const COMPARE_HELP = `Usage: clp compare RUN_OR_FILE... [options]

Compares the evaluations of several methods, one per argument: a run folder that contains
front.json (written by clp train or clp eval) or a front.json file. The first argument is the
baseline that every other method is measured against. All must share the objectives, the grid
weights (a per-weight run may have a subset of them) and the decoding settings and sample budget.
Writes a self-contained HTML report and, in the same folder, compare.json with every number.

Options:
  --out FILE        HTML report to write (default: compare.html); compare.json goes beside it
  --names A,B,...   method labels for legends and tables, one per input, comma-separated
                    (default: the title in each file)
  --resamples N     paired bootstrap resamples of the test prompts, N ≥ 2
                    (default ${COMPARE_DEFAULTS.resamples})
  --reference-point X,Y,...
                    hypervolume reference point, one raw reward per objective (default: ${COMPARE_DEFAULTS.margin * 100}%
                    of each objective's range below the lowest mean of all inputs and π_ref,
                    which moves when inputs change; fix it to compare hypervolumes across reports)
  -h, --help        prints this help
`;

/** Quotes an argument for a POSIX shell when it contains anything but safe characters. */
function shellQuote(argument: string): string {
  if (/^[\w@%+=:,./-]+$/.test(argument)) return argument;
  return `'${argument.replace(/'/g, `'\\''`)}'`;
}

/** Joins `--reference-point -0.1,0.5` into one argument, which parseArgs would take for two options. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === "--reference-point" && next !== undefined && /^-\d|^-\./.test(next)) {
      joined.push(`--reference-point=${next}`);
      i++;
    } else {
      joined.push(argv[i]!);
    }
  }
  return joined;
}

function parseCompareArgs(argv: string[]) {
  try {
    return parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      options: {
        out: { type: "string" },
        names: { type: "string" },
        resamples: { type: "string" },
        "reference-point": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${COMPARE_HELP}`);
  }
}

function parseResamples(text: string | undefined): number {
  if (text === undefined) return COMPARE_DEFAULTS.resamples;
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 2) {
    throw new UsageError(`--resamples must be an integer ≥ 2, got "${text}"`);
  }
  return value;
}

function parseReferencePoint(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const entries = text.split(",").map((entry) => entry.trim());
  const values = entries.map((entry) => (DECIMAL_NUMBER.test(entry) ? Number(entry) : Number.NaN));
  if (values.some((value) => !Number.isFinite(value))) {
    throw new UsageError(`--reference-point must list comma-separated numbers, one per objective, such as 0,0.5; got "${text}"`);
  }
  return values;
}

function parseNames(text: string | undefined, inputs: number): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(",").map((name) => name.trim());
  if (names.length !== inputs || names.some((name) => name === "")) {
    throw new UsageError(
      `--names must list ${inputs} non-empty comma-separated labels, one per input, ` +
        `got "${text}"`,
    );
  }
  return names;
}

function formatSummary(comparison: Comparison): string {
  return comparison.methods
    .map((method) => {
      const difference = method.versusFirst?.hypervolumeDifference;
      const versus =
        method.versusFirst === null
          ? "baseline"
          : difference
            ? `difference ${formatStatistic(difference.observed)} ` +
              `[${formatStatistic(difference.lower)}, ${formatStatistic(difference.upper)}]`
            : "no interval (no per-prompt rewards)";
      return `${method.name}: hypervolume ${formatStatistic(method.hypervolume)}, ${versus}`;
    })
    .join("\n");
}

/** Runs `clp compare` with `argv` (the arguments after the command name). */
export async function compareCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCompareArgs(argv);
  if (values.help) {
    process.stdout.write(COMPARE_HELP);
    return;
  }
  if (positionals.length === 0) {
    throw new UsageError(`give at least one run folder or front.json file\n\n${COMPARE_HELP}`);
  }
  const out = values.out ?? "compare.html";
  if (!/\.html?$/i.test(out)) {
    throw new UsageError(`--out must name an .html file, got "${out}"`);
  }
  const { htmlPath, jsonPath, comparison } = await writeCompareReport(positionals, out, {
    names: parseNames(values.names, positionals.length),
    resamples: parseResamples(values.resamples),
    referencePoint: parseReferencePoint(values["reference-point"]),
    command: ["clp", "compare", ...argv].map(shellQuote).join(" "),
  });
  const notes = comparison.notes.map((note) => `note: ${note}\n`).join("");
  process.stdout.write(`${formatSummary(comparison)}\n${notes}wrote ${htmlPath} and ${jsonPath}\n`);
}
