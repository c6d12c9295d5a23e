// Per-objective standardisation of reward vectors, so that objectives on different scales can be
// weighted by the same simplex vector w. The statistics are measured once on a calibration set,
// saved with the run and loaded back as they are. Nothing here refits them.

import { readFileSync } from "node:fs";
import { writeTextAtomic } from "../util/fs-errors.js";

/**
 * Smallest standard deviation accepted for an objective. `fit` and `fromJSON` throw below it
 * rather than flooring it. A near-constant objective on the calibration set means the set is too
 * small or the reward is degenerate, and dividing by a floored std would turn rounding noise into
 * rewards of order 1e6.
 */
export const MIN_STD = 1e-6;

/** The JSON form of a RewardNormalizer, as written by `toJSON`. */
export interface RewardNormalizerJSON {
  version: 1;
  /** Objective names, in the column order of the score matrices. */
  names: string[];
  /** Mean of each objective on the calibration set. */
  mean: number[];
  /** Population standard deviation of each objective on the calibration set. */
  std: number[];
  /** Number of calibration samples. */
  count: number;
}

function formatNames(names: readonly string[]): string {
  return `[${names.map((name) => JSON.stringify(name)).join(", ")}]`;
}

function checkNames(actual: readonly string[], expected: readonly string[], context: string): void {
  const same =
    actual.length === expected.length && actual.every((name, index) => name === expected[index]);
  if (!same) {
    throw new Error(
      `${context}: normalizer objectives ${formatNames(actual)} do not match the configured ` +
        `objectives ${formatNames(expected)} (same names in the same order are required); ` +
        `refit the normalizer on a calibration set for the configured objectives`,
    );
  }
}

function checkStd(names: readonly string[], mean: readonly number[], std: readonly number[]): void {
  std.forEach((value, j) => {
    if (!(value >= MIN_STD)) {
      throw new RangeError(
        `objective "${names[j]}" has standard deviation ${value} (mean ${mean[j]}) on the ` +
          `calibration set, below the minimum ${MIN_STD}; use a larger or more varied ` +
          `calibration set, or remove the objective`,
      );
    }
  });
}

/**
 * Standardises reward vectors per objective: z_ij = (r_ij − mean_j) / std_j. Score matrices are
 * sample-major like `scoreAll` output, so `scores[i][j]` is objective j on sample i.
 */
export class RewardNormalizer {
  private constructor(
    readonly names: readonly string[],
    readonly mean: readonly number[],
    readonly std: readonly number[],
    readonly count: number,
  ) {}

  /**
   * Measures each objective's mean and population standard deviation on a calibration set. Throws
   * when there are fewer than 2 samples, a row has the wrong length or a non-finite value, or an
   * objective's std is below MIN_STD.
   */
  static fit(names: readonly string[], scores: readonly (readonly number[])[]): RewardNormalizer {
    if (names.length === 0) throw new Error("RewardNormalizer.fit: no objective names given");
    if (new Set(names).size !== names.length) {
      throw new Error(`RewardNormalizer.fit: duplicate objective names in ${formatNames(names)}`);
    }
    if (scores.length < 2) {
      throw new Error(
        `RewardNormalizer.fit: needs at least 2 calibration samples, got ${scores.length}`,
      );
    }
    const m = names.length;
    const sum = new Array<number>(m).fill(0);
    scores.forEach((row, i) => {
      if (row.length !== m) {
        throw new Error(
          `RewardNormalizer.fit: sample ${i} has ${row.length} scores, expected ${m} ` +
            `for objectives ${formatNames(names)}`,
        );
      }
      row.forEach((value, j) => {
        if (!Number.isFinite(value)) {
          throw new Error(
            `RewardNormalizer.fit: sample ${i} has non-finite score ${value} for "${names[j]}"`,
          );
        }
        sum[j] = (sum[j] ?? 0) + value;
      });
    });
    const mean = sum.map((total) => total / scores.length);
    const squares = new Array<number>(m).fill(0);
    for (const row of scores) {
      row.forEach((value, j) => {
        const delta = value - (mean[j] ?? 0);
        squares[j] = (squares[j] ?? 0) + delta * delta;
      });
    }
    const std = squares.map((total) => Math.sqrt(total / scores.length));
    checkStd(names, mean, std);
    return new RewardNormalizer([...names], mean, std, scores.length);
  }

  /**
   * Rebuilds a normalizer saved by `toJSON` and checks that its objectives equal `expectedNames`
   * in order. Throws naming the invalid field, or naming both lists when the objectives differ.
   */
  static fromJSON(json: unknown, expectedNames: readonly string[]): RewardNormalizer {
    const context = "RewardNormalizer.fromJSON";
    if (typeof json !== "object" || json === null) {
      const got = json === null ? "null" : typeof json;
      throw new TypeError(`${context}: expected an object, got ${got}`);
    }
    const data = json as Record<string, unknown>;
    if (data.version !== 1) {
      throw new TypeError(`${context}: unsupported version ${String(data.version)}, expected 1`);
    }
    const { names, mean, std, count } = data;
    if (!Array.isArray(names) || !names.every((name) => typeof name === "string")) {
      throw new TypeError(`${context}: "names" must be an array of strings`);
    }
    checkNames(names, expectedNames, context);
    for (const [field, values] of [["mean", mean], ["std", std]] as const) {
      const valid =
        Array.isArray(values) &&
        values.length === names.length &&
        values.every((value) => typeof value === "number" && Number.isFinite(value));
      if (!valid) {
        throw new TypeError(
          `${context}: "${field}" must be an array of ${names.length} finite numbers`,
        );
      }
    }
    if (typeof count !== "number" || !Number.isInteger(count) || count < 2) {
      throw new TypeError(`${context}: "count" must be an integer of at least 2`);
    }
    const meanValues = mean as number[];
    const stdValues = std as number[];
    checkStd(names, meanValues, stdValues);
    return new RewardNormalizer([...names], [...meanValues], [...stdValues], count);
  }

  /** Reads a normalizer written by `save` and checks its objectives against `expectedNames`. */
  static load(path: string, expectedNames: readonly string[]): RewardNormalizer {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`failed to read reward normalizer ${path}: ${reason}`, { cause: error });
    }
    try {
      return RewardNormalizer.fromJSON(json, expectedNames);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`invalid reward normalizer ${path}: ${reason}`, { cause: error });
    }
  }

  /** Throws unless this normalizer's objectives equal `expectedNames` in order. */
  assertNames(expectedNames: readonly string[]): void {
    checkNames(this.names, expectedNames, "RewardNormalizer");
  }

  /** Standardises one reward vector, ordered as `names`. */
  normalizeRow(row: readonly number[]): number[] {
    if (row.length !== this.names.length) {
      throw new Error(
        `RewardNormalizer: got ${row.length} scores, expected ${this.names.length} ` +
          `for objectives ${formatNames(this.names)}`,
      );
    }
    return row.map((value, j) => (value - (this.mean[j] ?? 0)) / (this.std[j] ?? 1));
  }

  /** Standardises a sample-major score matrix, returning a new matrix of the same shape. */
  normalize(scores: readonly (readonly number[])[]): number[][] {
    return scores.map((row) => this.normalizeRow(row));
  }

  /** Returns the JSON form that `fromJSON` reads back. */
  toJSON(): RewardNormalizerJSON {
    return {
      version: 1,
      names: [...this.names],
      mean: [...this.mean],
      std: [...this.std],
      count: this.count,
    };
  }

  /** Writes `toJSON()` to `path` as indented JSON. */
  save(path: string): void {
    writeTextAtomic(path, JSON.stringify(this.toJSON(), null, 2) + "\n");
  }
}
