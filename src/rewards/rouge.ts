// ROUGE-L and ROUGE-1 F1 against the reference synopsis, for evaluation and as optional objectives.
// Both compare lowercase alphanumeric words from `tokenize`, without stemming or stopword removal.

import { tokenize } from "./text.js";
import { RewardError, type RewardFunction, type RewardInput } from "./types.js";

/** Returns the length of the longest common subsequence of two word sequences. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  // One row of the dynamic-programming table, indexed by position in b, is enough.
  const row = new Array<number>(b.length + 1).fill(0);
  for (const wordA of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      if (wordA === b[j - 1]) {
        row[j] = diagonal + 1;
      } else {
        const left = row[j - 1] ?? 0;
        row[j] = above > left ? above : left;
      }
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** Returns the number of words two sequences share, each counted min(countA, countB) times. */
export function unigramOverlap(a: readonly string[], b: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const word of b) counts.set(word, (counts.get(word) ?? 0) + 1);
  let overlap = 0;
  for (const word of a) {
    const left = counts.get(word) ?? 0;
    if (left > 0) {
      overlap += 1;
      counts.set(word, left - 1);
    }
  }
  return overlap;
}

function referenceWords(rewardName: string, input: RewardInput): string[] {
  if (typeof input.reference !== "string") {
    throw new RewardError(
      `reward "${rewardName}" requires a reference summary, but the input has none; ` +
        `set RewardInput.reference or remove "${rewardName}" from the objectives`,
      { rewardName },
    );
  }
  return tokenize(input.reference);
}

/**
 * Computes F1 from a match count m between a summary of s words and a reference of r words.
 * Precision m/s and recall m/r give F1 = 2m / (s + r), which is 0 when either side is empty.
 */
function f1(matches: number, summaryLength: number, referenceLength: number): number {
  const total = summaryLength + referenceLength;
  return total === 0 ? 0 : (2 * matches) / total;
}

/**
 * Creates the ROUGE-L F1 reward: with l the longest common subsequence of the summary's and the
 * reference's words, rougeL = 2l / (|summary| + |reference|), in [0, 1]. An empty summary or an
 * empty reference scores 0. It throws a `RewardError` naming the reward when `reference` is
 * missing.
 */
export function createRougeL(name: string = "rougeL"): RewardFunction {
  return {
    name,
    description: "ROUGE-L F1 of the summary against the reference synopsis, on lowercase words.",
    range: [0, 1],
    higherIsBetter: true,
    score(input: RewardInput): number {
      const reference = referenceWords(name, input);
      const summary = tokenize(input.summary);
      return f1(lcsLength(summary, reference), summary.length, reference.length);
    },
  };
}

/**
 * Creates the ROUGE-1 F1 reward: with m the clipped unigram overlap (`unigramOverlap`),
 * rouge1 = 2m / (|summary| + |reference|), in [0, 1]. Empty inputs and a missing reference behave
 * as for ROUGE-L.
 */
export function createRouge1(name: string = "rouge1"): RewardFunction {
  return {
    name,
    description: "ROUGE-1 F1 of the summary against the reference synopsis, on lowercase words.",
    range: [0, 1],
    higherIsBetter: true,
    score(input: RewardInput): number {
      const reference = referenceWords(name, input);
      const summary = tokenize(input.summary);
      return f1(unigramOverlap(summary, reference), summary.length, reference.length);
    },
  };
}

/** The ROUGE-L F1 reward. */
export const rougeL: RewardFunction = createRougeL();

/** The ROUGE-1 F1 reward. */
export const rouge1: RewardFunction = createRouge1();
