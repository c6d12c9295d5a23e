// Weight grids read from a file: the weight vectors w at which a conditioned policy is evaluated.

import { DECIMAL_NUMBER, validateWeights, WeightError } from "../clp/weights.js";
import { weightKey } from "./compare-inputs.js";

/** An objective name in a header line. */
const NAME = /^[A-Za-z_][\w.-]*$/;

/**
 * Parses a weight grid and validates each row with `validateWeights`. Two formats are accepted:
 *
 * - JSON: an array of rows, such as `[[1, 0], [0.5, 0.5], [0, 1]]`.
 * - Text: one row per line, entries separated by commas and/or whitespace. Blank lines and lines
 *   starting with `#` are skipped. An optional first line of objective names is a header, and it
 *   must list `objectives` in the same order.
 *
 * Rows keep their file order and values. Every error is a WeightError that names the line
 * (1-based) of the bad row. Repeated rows are rejected because they would count one weight twice.
 * @throws WeightError for invalid JSON, an empty grid, a header that does not match, an entry that
 *   is not a number, a row that is not on the simplex, or a repeated row.
 */
export function parseWeightGrid(text: string, objectives: readonly string[]): number[][] {
  // A byte-order mark, as some editors write, would otherwise make the JSON look invalid.
  text = text.replace(/^\uFEFF/, "");
  const rows = text.trimStart().startsWith("[")
    ? readJsonRows(text)
    : readTextRows(text, objectives);
  if (rows.length === 0) {
    throw new WeightError(
      `weight grid contains no rows; write one weight vector per line, ` +
        `such as ${exampleRow(objectives)}`,
    );
  }
  const firstLineOf = new Map<string, number>();
  return rows.map(({ line, values }) => {
    try {
      validateWeights(values, objectives);
    } catch (error) {
      if (!(error instanceof WeightError)) throw error;
      throw new WeightError(`weight grid line ${line}: ${error.message}`);
    }
    // The key clp compare matches grids by, so rows it would merge are rejected here already.
    const key = weightKey(values);
    const firstLine = firstLineOf.get(key);
    if (firstLine !== undefined) {
      throw new WeightError(
        `weight grid line ${line} repeats the weights of line ${firstLine}; remove one of them`,
      );
    }
    firstLineOf.set(key, line);
    return values;
  });
}

interface GridRow {
  /** 1-based line number where the row starts. */
  line: number;
  values: number[];
}

function readTextRows(text: string, objectives: readonly string[]): GridRow[] {
  const rows: GridRow[] = [];
  const lines = text.split(/\r?\n/);
  let isFirstDataLine = true;
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const tokens = trimmed.split(/\s*,\s*|\s+/);
    if (isFirstDataLine && tokens.every((token) => NAME.test(token))) {
      isFirstDataLine = false;
      checkHeader(tokens, objectives, line);
      return;
    }
    isFirstDataLine = false;
    rows.push({ line, values: tokens.map((token, entry) => parseEntry(token, entry, line)) });
  });
  return rows;
}

function checkHeader(names: readonly string[], objectives: readonly string[], line: number): void {
  const matches =
    names.length === objectives.length && names.every((name, i) => name === objectives[i]);
  if (!matches) {
    throw new WeightError(
      `weight grid line ${line}: header (${names.join(", ")}) does not match the objectives ` +
        `(${objectives.join(", ")}); list them in that order or remove the header`,
    );
  }
}

function parseEntry(token: string, entry: number, line: number): number {
  if (!DECIMAL_NUMBER.test(token)) {
    throw new WeightError(
      `weight grid line ${line}: entry ${entry} ("${token}") is not a number; ` +
        `write rows such as 0.2,0.8`,
    );
  }
  return Number(token);
}

function readJsonRows(text: string): GridRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new WeightError(
      `weight grid: invalid JSON (${reason}); write an array of rows such as [[0.2, 0.8], [1, 0]]`,
    );
  }
  if (!Array.isArray(parsed)) {
    throw new WeightError(
      `weight grid: JSON must be an array of rows such as [[0.2, 0.8], [1, 0]]`,
    );
  }
  const lines = topLevelElementLines(text);
  return parsed.map((row: unknown, index) => {
    const line = lines[index] ?? 1;
    if (!Array.isArray(row)) {
      throw new WeightError(
        `weight grid line ${line}: row ${index} is ${JSON.stringify(row)}, not an array of weights`,
      );
    }
    const values = row.map((entry: unknown, entryIndex) => {
      if (typeof entry !== "number") {
        throw new WeightError(
          `weight grid line ${line}: entry ${entryIndex} (${JSON.stringify(entry)}) is not a number`,
        );
      }
      return entry;
    });
    return { line, values };
  });
}

/**
 * Returns the 1-based line on which each element of the top-level JSON array starts. Expects text
 * that JSON.parse accepted, so it only needs to track nesting depth and skip string contents.
 */
function topLevelElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expectElement = false;
  for (const char of text) {
    if (char === "\n") line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (/\s/.test(char)) continue;
    if (expectElement && char !== "]") {
      lines.push(line);
      expectElement = false;
    }
    if (char === '"') inString = true;
    else if (char === "[" || char === "{") {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (char === "]" || char === "}") depth--;
    else if (char === "," && depth === 1) expectElement = true;
  }
  return lines;
}

function exampleRow(objectives: readonly string[]): string {
  const m = Math.max(objectives.length, 1);
  return Array.from({ length: m }, (_, i) => (i === 0 ? 1 : 0)).join(",");
}
