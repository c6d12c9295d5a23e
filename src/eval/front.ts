// The evaluated trade-off front of a conditioned policy: one point per weight vector w, plus the
// reference policy's point. Holds the data types, their input checks and the number formats that
// the plot and the report page share.

/** One evaluated weight vector. */
export interface FrontPoint {
  /** Weight vector w on the simplex, one entry per objective. Empty for the reference policy. */
  weights: number[];
  /** Mean raw reward per objective. NaN (or null after a JSON round trip) marks a missing mean. */
  means: number[];
  /** Standard error of each mean. NaN or null means that no error bar is drawn. */
  stderrs: number[];
  /** Mean sequence KL(π‖π_ref) in nats. */
  kl: number;
  /** Mean summary length in words. */
  meanLength: number;
  /** A few example outputs. */
  samples?: { source: string; summary: string }[];
}

/** Everything the plot and the report page show. */
export interface FrontData {
  title: string;
  /** Objective names, in the column order of `means` and `weights`. */
  objectives: string[];
  /** Evaluated points in grid order. */
  points: FrontPoint[];
  /** The reference policy π_ref's point (with `weights: []`), drawn as a distinct marker. */
  reference: FrontPoint | null;
  /** Decoding settings listed on the report page. */
  decoding: Record<string, unknown>;
}

/**
 * Largest accepted distance of sum(w) from 1. Loose enough for weights rounded to three decimals
 * (1/3 written as 0.333), tight enough to catch unnormalised weights.
 */
export const SIMPLEX_TOLERANCE = 5e-3;

/** Legend label of the conditioned policy's points. */
export const POLICY_LABEL = "policy π(·|x,w)";

/** Label of the reference policy in the legend and the table. */
export const REFERENCE_LABEL = "π_ref";

/**
 * Returns the value as a finite number, or null when it is missing: NaN, ±Infinity, or null
 * (which is how JSON.stringify writes NaN).
 */
export function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Formats a weight with at most two decimals and no trailing zeros ("0.3", "1", "0.33"). */
export function formatWeight(weight: number): string {
  return String(Number(weight.toFixed(2)));
}

/** Formats a statistic with four significant digits. null becomes "NaN", ±Infinity stays as is. */
export function formatStatistic(value: number | null): string {
  if (value === null) return "NaN";
  if (!Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

function describeValue(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "undefined";
  return JSON.stringify(value) ?? String(value);
}

function checkVector(
  values: unknown,
  field: string,
  count: number,
  where: string,
  objectives: readonly string[],
): void {
  if (!Array.isArray(values)) {
    throw new Error(`${where}: ${field} is missing or not an array (got ${describeValue(values)})`);
  }
  if (values.length !== count) {
    throw new Error(
      `${where}: ${field} has ${values.length} ${values.length === 1 ? "entry" : "entries"} ` +
        `but there are ${count} objectives ` +
        `(${JSON.stringify(objectives)}); give one ${field.replace(/s$/, "")} per objective`,
    );
  }
  values.forEach((value, index) => {
    // null is accepted as missing because JSON.stringify turns NaN into null.
    if (value !== null && typeof value !== "number") {
      throw new Error(
        `${where}: ${field}[${index}] must be a number, NaN or null (got ${describeValue(value)})`,
      );
    }
  });
}

function checkWeights(weights: readonly number[], where: string): void {
  let sum = 0;
  weights.forEach((weight, index) => {
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
      throw new Error(
        `${where}: weights[${index}] is ${describeValue(weight)}, but a weight on the simplex ` +
          `must be a finite number >= 0`,
      );
    }
    sum += weight;
  });
  if (Math.abs(sum - 1) > SIMPLEX_TOLERANCE) {
    throw new Error(
      `${where}: weights ${JSON.stringify(weights)} sum to ${sum}, but a weight vector on the ` +
        `simplex sums to 1 (tolerance ${SIMPLEX_TOLERANCE})`,
    );
  }
}

function checkStderrs(stderrs: readonly (number | null)[], where: string): void {
  stderrs.forEach((stderr, index) => {
    if (typeof stderr === "number" && stderr < 0) {
      throw new Error(`${where}: stderrs[${index}] is ${stderr}, but a standard error is >= 0`);
    }
  });
}

function checkScalar(value: unknown, field: string, where: string): void {
  if (value !== null && typeof value !== "number") {
    throw new Error(
      `${where}: ${field} must be a number, NaN or null (got ${describeValue(value)})`,
    );
  }
}

function checkSamples(samples: unknown, where: string): void {
  if (samples === undefined) return;
  if (!Array.isArray(samples)) {
    throw new Error(`${where}: samples must be an array (got ${describeValue(samples)})`);
  }
  samples.forEach((sample: unknown, index) => {
    const record = sample as { source?: unknown; summary?: unknown } | null;
    if (
      typeof record !== "object" ||
      record === null ||
      typeof record.source !== "string" ||
      typeof record.summary !== "string"
    ) {
      throw new Error(
        `${where}: samples[${index}] must be an object with string fields source and summary`,
      );
    }
  });
}

function checkPoint(
  point: FrontPoint,
  where: string,
  objectives: readonly string[],
  isReference: boolean,
): void {
  if (typeof point !== "object" || point === null) {
    throw new Error(`${where} must be an object (got ${describeValue(point)})`);
  }
  const count = objectives.length;
  if (!isReference) {
    checkVector(point.weights, "weights", count, where, objectives);
    checkWeights(point.weights, where);
  } else if (!Array.isArray(point.weights)) {
    throw new Error(`${where}: weights must be an array, empty for the reference policy`);
  }
  checkVector(point.means, "means", count, where, objectives);
  checkVector(point.stderrs, "stderrs", count, where, objectives);
  checkStderrs(point.stderrs, where);
  checkScalar(point.kl, "kl", where);
  checkScalar(point.meanLength, "meanLength", where);
  checkSamples(point.samples, where);
}

/**
 * Checks the shape of a front and throws an Error that names the offending point
 * (`points[3]` or `reference`) and field.
 *
 * Requires at least two distinct objective names, weights on the simplex, one mean and one
 * standard error per objective, and non-negative standard errors. Missing statistics (NaN,
 * ±Infinity or null) pass, because the plot leaves them out and the table flags them.
 */
export function validateFront(front: FrontData): void {
  if (typeof front !== "object" || front === null) {
    throw new Error(`front data must be an object (got ${describeValue(front)})`);
  }
  if (typeof front.title !== "string") {
    throw new Error(`front title must be a string (got ${describeValue(front.title)})`);
  }
  const objectives = front.objectives;
  if (!Array.isArray(objectives) || objectives.some((name) => typeof name !== "string")) {
    throw new Error(
      `front objectives must be an array of names (got ${describeValue(objectives)})`,
    );
  }
  if (objectives.length < 2) {
    throw new Error(
      `a trade-off front needs at least 2 objectives, got ${objectives.length} ` +
        `(${JSON.stringify(objectives)})`,
    );
  }
  const duplicate = objectives.find((name, index) => objectives.indexOf(name) !== index);
  if (duplicate !== undefined) {
    throw new Error(
      `objective name ${JSON.stringify(duplicate)} appears twice in ` +
        `${JSON.stringify(objectives)}, but names label the axes, so they must be distinct`,
    );
  }
  if (!Array.isArray(front.points)) {
    throw new Error(`front points must be an array (got ${describeValue(front.points)})`);
  }
  front.points.forEach((point, index) => {
    checkPoint(point, `points[${index}]`, objectives, false);
  });
  if (front.reference !== null && front.reference !== undefined) {
    checkPoint(front.reference, "reference", objectives, true);
  }
  if (
    typeof front.decoding !== "object" ||
    front.decoding === null ||
    Array.isArray(front.decoding)
  ) {
    throw new Error(
      `front decoding settings must be an object (got ${describeValue(front.decoding)})`,
    );
  }
}
