// The faithfulness reward: the share of the summary's content words found in the source.

import { contentStems, sourceContentStems } from "./text.js";
import type { RewardFunction, RewardInput } from "./types.js";

/**
 * Creates a faithfulness reward: the share of the summary's content words (stopwords removed,
 * repeats counted) whose stem occurs among the source's content-word stems.
 *
 * faithfulness = (summary content words whose stem is in the source) / (summary content words),
 * in [0, 1].
 *
 * Stemming is deterministic, so an exact word match is also a stem match. A summary with no
 * content words, the empty summary included, scores 0, because nothing in it is supported. The
 * reward ignores length, so on its own it favours copying source words, and with brevity it favours
 * short extractive phrases. It measures lexical support only: "not free software" copied from
 * "free software" still scores 1.
 */
export function createFaithfulness(name: string = "faithfulness"): RewardFunction {
  return {
    name,
    description:
      "Share of the summary's content words whose stem also occurs in the source " +
      "(0 for a summary without content words).",
    range: [0, 1],
    higherIsBetter: true,
    score({ source, summary }: RewardInput): number {
      const { stems } = contentStems(summary);
      if (stems.length === 0) return 0;
      const supported = sourceContentStems(source).stemSet;
      let count = 0;
      for (const s of stems) {
        if (supported.has(s)) count += 1;
      }
      return count / stems.length;
    },
  };
}

/** The faithfulness reward. */
export const faithfulness: RewardFunction = createFaithfulness();
