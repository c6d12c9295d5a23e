// Messages between RewardScorer and its worker thread, and the layout of the shared progress
// counters. Errors cross the thread boundary as plain records and become RewardErrors again.

import { RewardError, type RewardInput } from "./types.js";

/** Index of the call counter in the shared Int32Array; the worker adds 1 before every call. */
export const PROGRESS_CALLS = 0;
/** Index of the reward (in the scorer's order) of the current call. */
export const PROGRESS_REWARD = 1;
/** Index of the sample of the current call, or -1 for scoreBatch. */
export const PROGRESS_SAMPLE = 2;
/** Index of the worker's phase: PHASE_LOADING, PHASE_IDLE or PHASE_SCORING. */
export const PROGRESS_PHASE = 3;
/** Length of the shared progress array. */
export const PROGRESS_LENGTH = 4;

/**
 * Phase of a worker that is importing its rewards. The zeroed buffer starts in it, and
 * PROGRESS_REWARD then contains the index (in `WorkerSetup.rewards`) of the reward being loaded.
 */
export const PHASE_LOADING = 0;
/** Phase of a worker between requests: no reward call is running. */
export const PHASE_IDLE = 1;
/** Phase of a worker inside a request: reward calls run synchronously until the reply is posted. */
export const PHASE_SCORING = 2;

/** `workerData` of the worker: which rewards to load and the shared progress buffer. */
export interface WorkerSetup {
  rewards: { name: string; from: "built-in" | string }[];
  progress: SharedArrayBuffer;
}

/** A reward failure or another error, as a record that structured cloning keeps whole. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  rewardName?: string;
  sampleIndex?: number;
  summary?: string;
  value?: unknown;
}

/** One batch to score. In "stop" mode the first failure fails the batch; in "skip" mode it fails one sample. */
export interface ScoreRequest {
  inputs: RewardInput[];
  mode: "stop" | "skip";
  /** Calls that hung in an earlier attempt on this batch; they count as failures and are not made again. */
  hung: { rewardIndex: number; sampleIndex: number; error: SerializedError }[];
}

/** A message the worker posts: ready after loading, scores for a batch, or a failure. */
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "scores"; values: (number | null)[][]; errors: SerializedError[] }
  | { kind: "failed"; error: SerializedError };

function cloneable(value: unknown): unknown {
  if (value === null || ["number", "string", "boolean", "undefined"].includes(typeof value)) return value;
  try {
    return structuredClone(value);
  } catch {
    return String(value);
  }
}

/** Turns any thrown value into a record that can be posted between threads. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof RewardError) {
    return {
      name: error.name,
      message: error.message,
      rewardName: error.rewardName,
      ...(error.sampleIndex === undefined ? {} : { sampleIndex: error.sampleIndex }),
      ...(error.summary === undefined ? {} : { summary: error.summary }),
      value: cloneable(error.value),
    };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) };
  return { name: "Error", message: String(error) };
}

/** Rebuilds a RewardError from its record; any other error becomes a plain Error with its message. */
export function toRewardError(record: SerializedError): RewardError {
  return new RewardError(record.message, {
    rewardName: record.rewardName ?? "unknown",
    ...(record.sampleIndex === undefined ? {} : { sampleIndex: record.sampleIndex }),
    ...(record.summary === undefined ? {} : { summary: record.summary }),
    value: record.value,
  });
}

/** Rebuilds the error a worker reported: a RewardError when it was one, an Error otherwise. */
export function deserializeError(record: SerializedError): Error {
  if (record.name === "RewardError") return toRewardError(record);
  const error = new Error(record.message);
  error.name = record.name;
  if (record.stack !== undefined) error.stack = record.stack;
  return error;
}
