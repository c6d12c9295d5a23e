// Loads the default task's data: Debian package long descriptions paired with their one-line
// synopses (JSON Lines, optionally gzipped) and the plain-text pretraining corpus. Both are
// built by scripts/build-data.ts and committed under data/.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

/** One summarization example: a package's long description and its synopsis as reference. */
export interface SummaryExample {
  /** Binary package name, such as `0ad-data`. */
  package: string;
  /** Source package that built it. All binary packages of one source are in the same split. */
  source: string;
  /** Long description as plain text, with a blank line between paragraphs. */
  description: string;
  /** One-line synopsis as written in Debian. */
  synopsis: string;
}

/** Paths of the three committed splits of the default task. */
export interface TaskPaths {
  train: string;
  validation: string;
  test: string;
}

/** Options of {@link loadSplit}. */
export interface LoadSplitOptions {
  /** Maximum number of examples to read from the start of the file. All are read when absent. */
  limit?: number;
}

/** Invalid or missing data file. The message names the file and, for bad content, the line. */
export class DataError extends Error {
  override name = "DataError";
}

/** Line that ends each document of the pretraining corpus. */
export const DOCUMENT_SEPARATOR = "<|endoftext|>";

const FIELDS = ["package", "source", "description", "synopsis"] as const;
const LINE_FORMAT = `each line must be a JSON object with string fields ${FIELDS.join(", ")}`;
const BUILD_HINT =
  "Build the data with `node dist/scripts/build-data.js` (after `npx tsc -p tsconfig.json`).";

/**
 * Finds the package root, the nearest folder above this module with a package.json. It is
 * found from the module's own location, so the result does not depend on the working directory.
 */
function packageRoot(): string {
  const modulePath = fileURLToPath(import.meta.url);
  let dir = dirname(modulePath);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json in any folder above ${modulePath}`);
    dir = parent;
  }
}

/**
 * Returns the paths of the committed train, validation and test splits under `root`, which
 * defaults to the package root.
 */
export function defaultTaskPaths(root: string = packageRoot()): TaskPaths {
  const dir = join(resolve(root), "data", "debian-synopses");
  return {
    train: join(dir, "train.jsonl.gz"),
    validation: join(dir, "validation.jsonl.gz"),
    test: join(dir, "test.jsonl.gz"),
  };
}

/** Returns the path of the committed pretraining corpus under `root`, the package root by default. */
export function defaultPretrainPath(root: string = packageRoot()): string {
  return join(resolve(root), "data", "pretrain", "descriptions.txt.gz");
}

/** Reads a file as UTF-8 text, gunzipping it when it starts with the gzip magic bytes. */
function readText(path: string): string {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new DataError(`data file not found: ${path}. ${BUILD_HINT}`);
    }
    throw error;
  }
  if (data[0] !== 0x1f || data[1] !== 0x8b) return data.toString("utf8");
  try {
    return gunzipSync(data).toString("utf8");
  } catch (error) {
    throw new DataError(`${path}: invalid gzip data (${(error as Error).message}). ${BUILD_HINT}`);
  }
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** Checks one parsed line; returns the problem, or the example when the line is valid. */
function toExample(value: unknown): SummaryExample | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `expected a JSON object, got ${describeType(value)}`;
  }
  const record = value as Record<string, unknown>;
  for (const field of FIELDS) {
    const fieldValue = record[field];
    if (fieldValue === undefined) return `field "${field}" is missing`;
    if (typeof fieldValue !== "string")
      return `field "${field}" must be a string, got ${describeType(fieldValue)}`;
    if (fieldValue.trim() === "") return `field "${field}" is empty`;
  }
  return {
    package: record.package as string,
    source: record.source as string,
    description: record.description as string,
    synopsis: record.synopsis as string,
  };
}

/**
 * Loads a split from JSON Lines, gzipped (`.jsonl.gz`) or not (`.jsonl`). Each line is one
 * {@link SummaryExample}; fields other than the four are ignored. Reads only the first
 * `options.limit` examples when given.
 *
 * @throws DataError when the file is missing, or when a line is blank, is not valid JSON, or
 *   lacks a non-empty string field. The message names the file and the 1-based line number.
 */
export function loadSplit(path: string, options: LoadSplitOptions = {}): SummaryExample[] {
  const limit = options.limit ?? Infinity;
  if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  }
  const lines = readText(path).split("\n");
  // A final newline leaves one empty string after the split, which is not a line.
  if (lines[lines.length - 1] === "") lines.pop();

  const examples: SummaryExample[] = [];
  for (let i = 0; i < lines.length && examples.length < limit; i++) {
    const line = lines[i] ?? "";
    const fail = (problem: string) =>
      new DataError(`${path} line ${i + 1}: ${problem}; ${LINE_FORMAT}`);
    if (line.trim() === "") throw fail("line is blank");
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw fail(`invalid JSON (${(error as Error).message})`);
    }
    const example = toExample(parsed);
    if (typeof example === "string") throw fail(example);
    examples.push(example);
  }
  return examples;
}

/**
 * Loads the pretraining corpus, gzipped or plain text, as one string per document. A line
 * containing only `<|endoftext|>` ends each document, and text after the last such line counts
 * as a final document. Defaults to the committed corpus.
 *
 * @throws DataError when the file is missing or contains no document.
 */
export function loadPretrainCorpus(path: string = defaultPretrainPath()): string[] {
  const documents: string[] = [];
  let current: string[] = [];
  for (const line of readText(path).split("\n")) {
    if (line === DOCUMENT_SEPARATOR) {
      documents.push(current.join("\n"));
      current = [];
    } else {
      current.push(line);
    }
  }
  const rest = current.join("\n");
  if (rest.trim() !== "") documents.push(rest);
  const nonEmpty = documents.filter((d) => d.trim() !== "");
  if (nonEmpty.length === 0) {
    throw new DataError(
      `${path}: no documents; expected texts each followed by a line "${DOCUMENT_SEPARATOR}"`,
    );
  }
  return nonEmpty;
}
