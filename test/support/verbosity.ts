// A reward that mirrors brevity, registered by the tests that train short steering runs.
import { registerReward, tokenize } from "../../src/rewards/index.js";

/** Registers "verbosity", words / (words + 8), which rewards longer summaries. */
export function registerVerbosity(): void {
  registerReward({
    name: "verbosity",
    description: "words / (words + 8): rewards longer summaries",
    range: [0, 1],
    higherIsBetter: true,
    // Counts words as brevity does, so the two rewards conflict and cannot both be raised at once.
    score: ({ summary }) => {
      const words = tokenize(summary).length;
      return words / (words + 8);
    },
  }, { replace: true });
}
