// The contract every reward function follows, and the error raised when one fails during scoring.

/** One sample to score: the source text, the generated summary and, when known, the reference. */
export interface RewardInput {
  /**
   * Source text the summary was generated from. In the default task this is the example's
   * `description` field (the long description), not its `source` field (the source package name).
   */
  source: string;
  /** Generated summary being scored. */
  summary: string;
  /** Human-written reference summary (the package's synopsis), read by reference-based rewards. */
  reference?: string;
}

/**
 * A deterministic scalar reward on one (source, summary) pair. Every returned value must be a
 * finite number inside `range`; `scoreAll` raises a `RewardError` otherwise.
 */
export interface RewardFunction {
  /** Unique registry key, also used as the objective's name in configs and saved runs. */
  name: string;
  /** One or two sentences on what the reward measures. */
  description: string;
  /** Inclusive bounds [min, max] of every value `score` returns, with min < max. */
  range: [number, number];
  /** Always true: a higher value is better, so rewards can be combined as wᵀR. */
  higherIsBetter: true;
  /** Scores one sample. */
  score(input: RewardInput): number;
  /** Optional faster path that scores many samples at once, with one value per input in order. */
  scoreBatch?(inputs: RewardInput[]): number[];
}

/** Max characters of a sample's text that error messages and `RewardError` fields keep. */
export const ERROR_TEXT_CHARS = 80;

/** Shortens text to ERROR_TEXT_CHARS characters for messages, marking any cut with "…". */
export function truncateText(text: string, maxChars: number = ERROR_TEXT_CHARS): string {
  if (text.length <= maxChars) return text;
  return text.slice(0, maxChars - 1) + "…";
}

/** Details recorded by a `RewardError`. */
export interface RewardErrorDetails {
  /** Name of the reward that failed. */
  rewardName: string;
  /** Index of the failing sample in the scored batch, or undefined when it could not be located. */
  sampleIndex?: number;
  /** The failing sample's summary, shortened by `truncateText`. */
  summary?: string;
  /** The value the reward returned, when the failure is an invalid value rather than a throw. */
  value?: unknown;
  /** The error the reward threw, if any. */
  cause?: unknown;
}

/**
 * Error raised when a reward throws, returns a non-finite value or a value outside its declared
 * range, or cannot be used as configured (for example a missing reference). The fields repeat what
 * the message states so callers can log or filter without parsing it.
 */
export class RewardError extends Error {
  override readonly name = "RewardError";
  readonly rewardName: string;
  readonly sampleIndex: number | undefined;
  readonly summary: string | undefined;
  readonly value: unknown;

  constructor(message: string, details: RewardErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.rewardName = details.rewardName;
    this.sampleIndex = details.sampleIndex;
    this.summary = details.summary;
    this.value = details.value;
  }
}
