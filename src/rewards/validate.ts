// The check that a value satisfies the RewardFunction contract, shared by the registry and the
// module loader.

import type { RewardFunction } from "./types.js";

/**
 * Checks that `value` satisfies the RewardFunction contract and returns it typed. `origin` names
 * where the value came from (a file path, or "registerReward") and starts every error message.
 * Throws a TypeError naming the first missing or invalid field.
 */
export function validateReward(value: unknown, origin: string): RewardFunction {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`${origin}: expected a reward function object, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  const label = typeof record.name === "string" ? `reward "${record.name}"` : "reward";
  const fail = (field: string, expected: string): never => {
    throw new TypeError(
      `${origin}: ${label} has invalid or missing field "${field}": ` +
        `expected ${expected}, got ${describe(record[field])}`,
    );
  };
  if (typeof record.name !== "string" || record.name.trim() === "") {
    fail("name", "a non-empty string");
  }
  if (typeof record.description !== "string") fail("description", "a string");
  const range = record.range;
  if (
    !Array.isArray(range) ||
    range.length !== 2 ||
    typeof range[0] !== "number" ||
    typeof range[1] !== "number" ||
    Number.isNaN(range[0]) ||
    Number.isNaN(range[1]) ||
    !(range[0] < range[1])
  ) {
    fail("range", "[min, max] with min < max (infinite bounds allowed)");
  }
  if (record.higherIsBetter !== true) fail("higherIsBetter", "true");
  if (typeof record.score !== "function") fail("score", "a function (input) => number");
  if (record.scoreBatch !== undefined && typeof record.scoreBatch !== "function") {
    fail("scoreBatch", "a function (inputs) => number[] or undefined");
  }
  return value as RewardFunction;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length <= 4 ? `the array ${JSON.stringify(value)}` : `an array of length ${value.length}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
