// Input checks shared by the evaluation metrics. Each check throws a RangeError whose message names
// the function, the bad row and value, and what to pass instead.

/** A matrix of reward or weight vectors: one row per point, one column per objective. */
export type Rows = readonly (readonly number[])[];

/**
 * Checks that every row of `rows` has `width` finite numbers (the first row's length when `width`
 * is omitted) and returns that width. An empty `rows` passes and returns `width`, or 0.
 */
export function checkRows(rows: Rows, context: string, label: string, width?: number): number {
  if (!Array.isArray(rows)) {
    throw new RangeError(`${context}: ${label}s must be an array of rows, got ${typeof rows}`);
  }
  const expected = width ?? rows[0]?.length ?? 0;
  rows.forEach((row, index) => {
    if (!Array.isArray(row)) {
      throw new RangeError(`${context}: ${label} ${index} is not an array of numbers`);
    }
    if (row.length !== expected) {
      throw new RangeError(
        `${context}: ${label} ${index} has ${row.length} values but ${expected} were expected; ` +
          `give every ${label} one value per objective`,
      );
    }
    checkFinite(row, context, `${label} ${index}`);
  });
  return expected;
}

/** Checks that every entry of `values` is a finite number. */
export function checkFinite(values: readonly number[], context: string, label: string): void {
  values.forEach((value, objective) => {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new RangeError(
        `${context}: ${label}, objective ${objective} is ${String(value)}; ` +
          `every value must be a finite number, so drop or repair that entry first`,
      );
    }
  });
}

/** Checks a reference point: at least one objective and finite coordinates. */
export function checkReference(reference: readonly number[], context: string): void {
  if (!Array.isArray(reference) || reference.length === 0) {
    throw new RangeError(
      `${context}: the reference point is empty; pass one coordinate per objective, ` +
        `for example from sharedReferencePoint`,
    );
  }
  checkFinite(reference, context, "reference point");
}

/** Checks that `rows` has exactly `count` rows. */
export function checkRowCount(
  rows: readonly unknown[],
  count: number,
  context: string,
  label: string,
): void {
  if (rows.length !== count) {
    throw new RangeError(
      `${context}: ${label} has ${rows.length} rows but ${count} were expected; ` +
        `evaluate both inputs on the same grid`,
    );
  }
}
