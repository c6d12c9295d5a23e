// Evaluation results read back from disk for a comparison: the front.json that `clp eval` writes
// in a run folder, in the format "clp-eval/1" or in the earlier format without a "format" field.
// Loading checks every field the comparison uses and names the file and field when one is bad.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Value of the "format" field of evaluation files that this module reads. */
export const EVAL_FORMAT = "clp-eval/1";

/** Settings that define the decoding and the sample budget, which compared methods must share. */
export const BUDGET_FIELDS = [
  "prompts",
  "samplesPerPrompt",
  "maxNewTokens",
  "temperature",
  "seed",
  "maxSourceTokens",
] as const;

export type BudgetField = (typeof BUDGET_FIELDS)[number];

/** Thrown for evaluation files that cannot be compared; printed as one line by the CLI. */
export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReportError";
  }
}

/** One summary drawn during the evaluation. */
export interface EvalSample {
  source: string;
  summary: string;
}

/** Results of one policy at one weight vector, or of π_ref (with empty weights). */
export interface EvalPoint {
  weights: number[];
  /** KL coefficient α the policy was steered to, when it was given. */
  klCoef?: number;
  /** Mean raw reward per objective. */
  means: number[];
  /** Standard error of each mean, or null when it was not recorded. */
  stderrs: (number | null)[];
  /** Mean sequence KL(π‖π_ref) in nats, or null when it was not recorded. */
  kl: number | null;
  klStderr: number | null;
  meanLength: number | null;
  samples: EvalSample[];
  /** Reward vector per test prompt averaged over its samples, or null before clp-eval/1. */
  perPrompt: number[][] | null;
}

/** One loaded evaluation file. */
export interface EvalFile {
  /** Path of the front.json that was read. */
  path: string;
  /** The "format" field, or null for files written before clp-eval/1. */
  format: string | null;
  title: string;
  /** Policy kind (clp, rewarded-soups, logit-mixing, per-weight, dera), or null. */
  method: string | null;
  objectives: string[];
  settings: Record<string, unknown>;
  /** KL coefficient α the whole evaluation was steered to, or null. */
  klCoef: number | null;
  reference: EvalPoint;
  points: EvalPoint[];
  /** Per-objective vertex checks as `clp eval` wrote them, or empty when absent. */
  steering: { objective: string; passed: boolean }[];
  /** SHA-256 of the test prompts' descriptions, or null in files written without it. */
  testPromptsSha256: string | null;
}

/**
 * Reads an evaluation: `input` is either a front.json file or a run folder that contains one.
 * @throws ReportError when the file is missing, is not JSON, has an unknown format, or a field the
 *   comparison needs is missing or invalid.
 */
export function loadEvalFile(input: string): EvalFile {
  const path = resolveEvalPath(input);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ReportError(`${path}: cannot be read as JSON (${reason})`);
  }
  return parseEvalFile(parsed, path);
}

/** Returns the front.json path for a file or run folder argument. */
function resolveEvalPath(input: string): string {
  if (!existsSync(input)) {
    throw new ReportError(
      `${input} not found; pass a run folder that contains front.json or a front.json file`,
    );
  }
  if (!statSync(input).isDirectory()) return input;
  const path = join(input, "front.json");
  if (!existsSync(path)) {
    throw new ReportError(
      `${input} has no front.json; evaluate the run first with clp eval --run ${input}`,
    );
  }
  return path;
}

/**
 * Checks a parsed evaluation file and returns it in the shape of EvalFile. `path` only labels the
 * error messages.
 * @throws ReportError naming the file and field of the first invalid value.
 */
export function parseEvalFile(value: unknown, path: string): EvalFile {
  const record = asRecord(value, path, "the file");
  const format = record.format;
  if (format !== undefined && format !== EVAL_FORMAT) {
    throw new ReportError(
      `${path}: format ${JSON.stringify(format)} is not supported; this clp reads ` +
        `"${EVAL_FORMAT}" and files without a format field`,
    );
  }
  const hasFormat = format === EVAL_FORMAT;
  const objectives = readObjectives(record.objectives, path);
  const settings = readSettings(record.settings, path);
  const points = readArray(record.points, path, "points").map((point, index) =>
    readPoint(point, path, `points[${index}]`, objectives.length, hasFormat, false),
  );
  if (points.length === 0) {
    throw new ReportError(`${path}: points is empty; the evaluation has no grid weight`);
  }
  checkPromptCounts(points, path);
  const reference = readPoint(record.reference, path, "reference", objectives.length, false, true);
  return {
    path,
    format: hasFormat ? EVAL_FORMAT : null,
    title: typeof record.title === "string" ? record.title : path,
    method: typeof record.method === "string" ? record.method : null,
    objectives,
    settings,
    klCoef: typeof record.klCoef === "number" ? record.klCoef : null,
    reference,
    points,
    steering: readSteering(record.steering),
    testPromptsSha256: readTestPromptsSha256(record.testPrompts),
  };
}

function readTestPromptsSha256(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const digest = (value as { sha256?: unknown }).sha256;
  return typeof digest === "string" ? digest : null;
}

function asRecord(value: unknown, path: string, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ReportError(`${path}: ${field} must be a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function readArray(value: unknown, path: string, field: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new ReportError(`${path}: ${field} is missing or not an array (got ${describe(value)})`);
  }
  return value;
}

function readObjectives(value: unknown, path: string): string[] {
  const names = readArray(value, path, "objectives");
  if (names.length < 2 || names.some((name) => typeof name !== "string")) {
    throw new ReportError(
      `${path}: objectives must list at least 2 reward names, got ${describe(value)}`,
    );
  }
  return names as string[];
}

function readSettings(value: unknown, path: string): Record<string, unknown> {
  const settings = asRecord(value, path, "settings");
  for (const field of BUDGET_FIELDS) {
    if (typeof settings[field] !== "number") {
      throw new ReportError(
        `${path}: settings.${field} is ${describe(settings[field])}; the comparison needs the ` +
          `decoding settings and sample budget (${BUDGET_FIELDS.join(", ")})`,
      );
    }
  }
  return settings;
}

function readPoint(
  value: unknown,
  path: string,
  where: string,
  m: number,
  needsPerPrompt: boolean,
  isReference: boolean,
): EvalPoint {
  const record = asRecord(value, path, where);
  const weights = isReference ? [] : readNumbers(record.weights, path, `${where}.weights`, m);
  const means = readNumbers(record.means, path, `${where}.means`, m);
  const stderrs = readArray(record.stderrs, path, `${where}.stderrs`).map(optionalNumber);
  if (stderrs.length !== m) {
    throw new ReportError(
      `${path}: ${where}.stderrs has ${stderrs.length} entries but there are ${m} objectives`,
    );
  }
  const point: EvalPoint = {
    weights,
    means,
    stderrs,
    kl: optionalNumber(record.kl),
    klStderr: optionalNumber(record.klStderr),
    meanLength: optionalNumber(record.meanLength),
    samples: readSamples(record.samples),
    perPrompt: null,
  };
  if (typeof record.klCoef === "number") point.klCoef = record.klCoef;
  if (record.perPrompt !== undefined) {
    point.perPrompt = readArray(record.perPrompt, path, `${where}.perPrompt`).map((row, prompt) =>
      readNumbers(row, path, `${where}.perPrompt[${prompt}]`, m),
    );
  } else if (needsPerPrompt) {
    throw new ReportError(
      `${path}: ${where}.perPrompt is missing, but a "${EVAL_FORMAT}" file has per-prompt ` +
        `rewards at every grid weight; evaluate the run again with clp eval`,
    );
  }
  return point;
}

/** Reads exactly `count` finite numbers. */
function readNumbers(value: unknown, path: string, field: string, count: number): number[] {
  const values = readArray(value, path, field);
  if (values.length !== count) {
    throw new ReportError(
      `${path}: ${field} has ${values.length} entries but there are ${count} objectives`,
    );
  }
  values.forEach((entry, index) => {
    if (typeof entry !== "number" || !Number.isFinite(entry)) {
      throw new ReportError(
        `${path}: ${field}[${index}] is ${describe(entry)}; the comparison needs a finite ` +
          `number there`,
      );
    }
  });
  return values as number[];
}

/** Returns a finite number as it is and anything else as null, since JSON writes NaN as null. */
function optionalNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function readSamples(value: unknown): EvalSample[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (sample): sample is EvalSample =>
      typeof sample === "object" &&
      sample !== null &&
      typeof (sample as EvalSample).source === "string" &&
      typeof (sample as EvalSample).summary === "string",
  );
}

function readSteering(value: unknown): { objective: string; passed: boolean }[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (check): check is { objective: string; passed: boolean } =>
        typeof check === "object" &&
        check !== null &&
        typeof (check as { objective?: unknown }).objective === "string" &&
        typeof (check as { passed?: unknown }).passed === "boolean",
    )
    .map(({ objective, passed }) => ({ objective, passed }));
}

/** Every grid point with per-prompt rewards must cover the same prompts. */
function checkPromptCounts(points: readonly EvalPoint[], path: string): void {
  const counts = points.map((point) => point.perPrompt?.length ?? null);
  const first = counts[0];
  counts.forEach((count, index) => {
    if (count !== first) {
      throw new ReportError(
        `${path}: points[${index}].perPrompt has ${count ?? "no"} prompts but points[0] has ` +
          `${first ?? "none"}; every grid weight must be evaluated on the same prompts`,
      );
    }
    if (count === 0) {
      throw new ReportError(`${path}: points[${index}].perPrompt is empty`);
    }
  });
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  return JSON.stringify(value) ?? String(value);
}
