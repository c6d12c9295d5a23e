// Scoring a batch of samples with several rewards, turning every reward failure into a RewardError
// that names the reward and the sample.

import { RewardError, truncateText, type RewardFunction, type RewardInput } from "./types.js";

function errorReason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkValue(
  reward: RewardFunction,
  value: unknown,
  index: number,
  input: RewardInput,
): number {
  const [min, max] = reward.range;
  const valid = typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;
  if (valid) return value;
  const summary = truncateText(input.summary);
  let problem: string;
  if (typeof value !== "number") {
    let kind: string = typeof value;
    if (value === null) kind = "null";
    else if (value instanceof Promise) kind = "Promise (score must be synchronous)";
    const article = /^[aeiou]/.test(kind) ? "an" : "a";
    problem = `${article} ${kind} instead of a number`;
  } else if (!Number.isFinite(value)) {
    problem = `the non-finite value ${value}`;
  } else {
    problem = `${value}, outside its declared range [${min}, ${max}]`;
  }
  throw new RewardError(
    `reward "${reward.name}" returned ${problem} for sample ${index} ` +
      `(summary ${JSON.stringify(summary)})`,
    { rewardName: reward.name, sampleIndex: index, summary, value },
  );
}

/**
 * Optional instrumentation of scoring, used by the reward worker to report progress and to step
 * over calls that hung in an earlier attempt.
 */
export interface ScoreHooks {
  /** Called just before every call into the reward: the sample index, or -1 before scoreBatch. */
  beforeCall?(sampleIndex: number): void;
  /**
   * Calls known to hang, by sample index (-1 for scoreBatch), each with the error it counts as.
   * Such a call is not made again: a sample fails with its error, and a batch falls back to `score`.
   */
  hung?: ReadonlyMap<number, RewardError>;
}

function scoreOne(reward: RewardFunction, input: RewardInput, index: number, hooks: ScoreHooks = {}): number {
  const hung = hooks.hung?.get(index);
  if (hung !== undefined) throw hung;
  hooks.beforeCall?.(index);
  let value: unknown;
  try {
    value = reward.score(input);
  } catch (error) {
    const summary = truncateText(input.summary);
    throw new RewardError(
      `reward "${reward.name}" failed on sample ${index} (summary ${JSON.stringify(summary)}): ` +
        errorReason(error),
      { rewardName: reward.name, sampleIndex: index, summary, cause: error },
    );
  }
  return checkValue(reward, value, index, input);
}

function batchThrewError(reward: RewardFunction, count: number, error: unknown): RewardError {
  return new RewardError(
    `reward "${reward.name}" failed in scoreBatch on ${count} samples, ` +
      `although score succeeds on each of them: ${errorReason(error)}`,
    { rewardName: reward.name, cause: error },
  );
}

function batchLengthError(reward: RewardFunction, count: number, values: unknown): RewardError {
  const got = Array.isArray(values) ? `${values.length} values` : typeof values;
  return new RewardError(
    `reward "${reward.name}" scoreBatch returned ${got} for ${count} samples; ` +
      `it must return one number per input`,
    { rewardName: reward.name, value: values },
  );
}

/**
 * Scores `inputs` with one reward and returns one checked value per input. A reward with
 * `scoreBatch` is called once for the whole batch. If that call throws, each sample is scored again
 * with `score` to find the failing one, so the RewardError still names the sample. Its
 * `sampleIndex` is undefined only when no single sample fails.
 */
export function scoreReward(reward: RewardFunction, inputs: readonly RewardInput[], hooks: ScoreHooks = {}): number[] {
  if (reward.scoreBatch === undefined) {
    return inputs.map((input, index) => scoreOne(reward, input, index, hooks));
  }
  const hungBatch = hooks.hung?.get(-1);
  if (hungBatch !== undefined) throw hungBatch;
  let values: unknown;
  try {
    hooks.beforeCall?.(-1);
    values = reward.scoreBatch([...inputs]);
  } catch (error) {
    inputs.forEach((input, index) => scoreOne(reward, input, index, hooks));
    throw batchThrewError(reward, inputs.length, error);
  }
  if (!Array.isArray(values) || values.length !== inputs.length) {
    throw batchLengthError(reward, inputs.length, values);
  }
  return inputs.map((input, index) => checkValue(reward, values[index], index, input));
}

/** One reward's values on a batch, with null for every sample it failed on. */
export interface PerSampleScores {
  /** One checked value per input, or null where the reward failed on that input. */
  values: (number | null)[];
  /** The failures, in input order; each names the reward and the sample. */
  errors: RewardError[];
}

/**
 * Scores `inputs` with one reward like `scoreReward`, but returns null for each sample on which
 * the reward throws or returns an invalid value (not a number, not finite, or outside `range`).
 * The RewardErrors of those samples are returned instead of raised, so the other samples keep
 * their values. A failure of the whole batch still raises: `scoreBatch` returning the wrong number
 * of values, or throwing although `score` succeeds on every sample.
 */
export function scoreRewardPerSample(reward: RewardFunction, inputs: readonly RewardInput[], hooks: ScoreHooks = {}): PerSampleScores {
  let valueOf = (input: RewardInput, index: number): number => scoreOne(reward, input, index, hooks);
  let batchFailed = false;
  let batchError: unknown;
  if (reward.scoreBatch !== undefined) {
    let batch: unknown;
    const hungBatch = hooks.hung?.get(-1);
    try {
      if (hungBatch !== undefined) throw hungBatch;
      hooks.beforeCall?.(-1);
      batch = reward.scoreBatch([...inputs]);
    } catch (error) {
      // Scores each sample with `score` below, to find the failing ones.
      batchFailed = true;
      batchError = error;
    }
    if (!batchFailed) {
      if (!Array.isArray(batch) || batch.length !== inputs.length) {
        throw batchLengthError(reward, inputs.length, batch);
      }
      const values: unknown[] = batch;
      valueOf = (input, index) => checkValue(reward, values[index], index, input);
    }
  }
  const scores: PerSampleScores = { values: [], errors: [] };
  inputs.forEach((input, index) => {
    try {
      scores.values.push(valueOf(input, index));
    } catch (error) {
      if (!(error instanceof RewardError)) throw error;
      scores.values.push(null);
      scores.errors.push(error);
    }
  });
  // A scoreBatch that hung is replaced by `score` on every sample. One that threw although every
  // sample scores is a fault of the batch path itself, so it raises.
  if (batchFailed && scores.errors.length === 0 && batchError !== hooks.hung?.get(-1)) {
    throw batchThrewError(reward, inputs.length, batchError);
  }
  return scores;
}

/**
 * Scores every input with every reward and returns a sample-major matrix: `result[i][j]` is reward
 * j on input i, so row i is the reward vector R(x_i, y_i) that a weight vector w is dotted with.
 * The same layout is accepted by `RewardNormalizer.fit` and `normalize`.
 *
 * Throws a RewardError on the first reward (in the given order) that throws, returns a non-number,
 * a non-finite number or a value outside its declared `range`. The error's `rewardName`,
 * `sampleIndex` and `summary` (shortened to ERROR_TEXT_CHARS characters) identify the failure.
 */
export function scoreAll(
  rewards: readonly RewardFunction[],
  inputs: readonly RewardInput[],
): number[][] {
  const byReward = rewards.map((reward) => scoreReward(reward, inputs));
  return inputs.map((_, i) => byReward.map((column) => column[i] ?? Number.NaN));
}

/** Builds the reward inputs of summaries generated for task examples, one per summary. */
export function summaryInputs(
  examples: readonly { description: string; synopsis: string }[],
  summaries: readonly string[],
): RewardInput[] {
  return summaries.map((summary, i) => ({ source: examples[i]!.description, summary, reference: examples[i]!.synopsis }));
}

/**
 * Arranges per-reward columns of values into sample-major rows; a sample with a null value from
 * any reward gets a null row.
 */
export function rowsBySample(byReward: readonly (readonly (number | null)[])[], count: number): (number[] | null)[] {
  return Array.from({ length: count }, (_, i) => {
    const row = byReward.map((column) => column[i] ?? null);
    return row.every((value): value is number => value !== null) ? row : null;
  });
}

/**
 * Scores every input with every reward like `scoreAll`, but returns a null row for a sample that
 * any reward fails on instead of raising. The errors are grouped by reward, each in sample order.
 */
export function scoreAllPerSample(
  rewards: readonly RewardFunction[],
  inputs: readonly RewardInput[],
): { rows: (number[] | null)[]; errors: RewardError[] } {
  const byReward = rewards.map((reward) => scoreRewardPerSample(reward, inputs));
  return { rows: rowsBySample(byReward.map((scores) => scores.values), inputs.length), errors: byReward.flatMap((scores) => scores.errors) };
}

/** Scores summaries of task examples with every objective; rows are samples, columns objectives. */
export function scoreSummaries(
  rewards: readonly RewardFunction[],
  examples: readonly { description: string; synopsis: string }[],
  summaries: readonly string[],
): number[][] {
  return scoreAll(rewards, summaryInputs(examples, summaries));
}

/**
 * Scores summaries of task examples with every objective like `scoreSummaries`, but returns a null
 * row for a sample that any reward fails on instead of raising (see `scoreAllPerSample`).
 */
export function scoreSummariesPerSample(
  rewards: readonly RewardFunction[],
  examples: readonly { description: string; synopsis: string }[],
  summaries: readonly string[],
): { rows: (number[] | null)[]; errors: RewardError[] } {
  return scoreAllPerSample(rewards, summaryInputs(examples, summaries));
}
