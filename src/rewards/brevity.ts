// The brevity reward: a smooth, decreasing function of the summary's word count.

import { tokenize } from "./text.js";
import type { RewardFunction, RewardInput } from "./types.js";

/**
 * Default length scale in words: the count at which brevity falls to 1/2. Reference synopses of
 * the default task average about 6.5 words, and Debian's guideline of a synopsis under 80
 * characters allows about 10, so 8 puts typical human synopses near the middle of the curve.
 */
export const DEFAULT_BREVITY_TARGET_WORDS = 8;

/** Options of `createBrevity`. */
export interface BrevityOptions {
  /** Word count at which brevity is 1/2; DEFAULT_BREVITY_TARGET_WORDS when omitted. */
  targetWords?: number;
  /** Registry name; "brevity" when omitted. */
  name?: string;
}

/**
 * Creates a brevity reward. With n the number of words in the summary (as counted by `tokenize`)
 * and T the target length:
 *
 *   brevity = 1 / (1 + (n / T)²)  for n ≥ 1,   brevity = 0  for n = 0.
 *
 * The curve is flat near one word and steepest at n = T/√3 (about 4.6 words for T = 8), so it
 * separates 3-word from 20-word summaries instead of pushing hard for one word. Example values for
 * T = 8 are 0.985 for 1 word, 0.5 for 8 words and 0.015 for 65 words.
 *
 * An empty summary, or one with no letters or digits, scores 0 and not 1. The formula alone would
 * give it the maximum, and a policy weighted towards brevity would learn to stop at once. With
 * the rule, the empty summary scores the minimum of every built-in reward, so under any weight
 * vector it scores no higher than any non-empty summary. The shortest output that brevity rewards
 * is one word, which is the intended brevity end of the front.
 */
export function createBrevity(options: BrevityOptions = {}): RewardFunction {
  const target = options.targetWords ?? DEFAULT_BREVITY_TARGET_WORDS;
  if (!Number.isFinite(target) || target <= 0) {
    throw new RangeError(`brevity targetWords must be a positive number, got ${target}`);
  }
  return {
    name: options.name ?? "brevity",
    description:
      `Decreasing in the summary's word count n: 1 / (1 + (n / ${target})²), ` +
      `and 0 for an empty summary.`,
    range: [0, 1],
    higherIsBetter: true,
    score({ summary }: RewardInput): number {
      const n = tokenize(summary).length;
      if (n === 0) return 0;
      const ratio = n / target;
      return 1 / (1 + ratio * ratio);
    },
  };
}

/** The brevity reward with the default target length. */
export const brevity: RewardFunction = createBrevity();
