// The coverage reward: how much of the source's salient content the summary mentions.

import { BoundedCache, contentStems, sourceContentStems } from "./text.js";
import { stem } from "./stem.js";
import type { RewardFunction, RewardInput } from "./types.js";

/** Default number of salient source stems that coverage looks for. */
export const DEFAULT_COVERAGE_TOP_K = 10;

/**
 * Words that open or pad most Debian long descriptions ("This package provides …", "It includes
 * various …"). They are frequent in almost every source, so without this list they would rank as
 * salient everywhere and reward boilerplate. They are excluded from the salient set only. Neither
 * the summary's tokens nor the faithfulness reward use this list.
 */
export const DESCRIPTION_BOILERPLATE: readonly string[] = [
  "package", "contains", "provides", "includes", "including", "various", "useful", "allows",
  "based", "use", "using", "used",
];

const BOILERPLATE_STEMS: ReadonlySet<string> = new Set(DESCRIPTION_BOILERPLATE.map(stem));

/** A salient source stem and its weight. */
export interface SalientStem {
  stem: string;
  weight: number;
}

/**
 * Ranks the distinct content stems of a source by salience and returns the top `topK`.
 *
 * weight(s) = tf(s) + (1 − firstIndex(s) / n), where tf(s) is the number of occurrences of stem s
 * among the source's n content words and firstIndex(s) is the position of its first occurrence.
 * Repeated terms are the topic of a description, and Debian descriptions state the main purpose in
 * their first sentence, so frequency counts first and earliness adds up to one extra occurrence.
 * Ties go to the earlier stem, which makes the ranking deterministic.
 */
export function salientStems(source: string, topK: number): SalientStem[] {
  const { stems } = sourceContentStems(source);
  const n = stems.length;
  const counts = new Map<string, number>();
  const firstIndex = new Map<string, number>();
  stems.forEach((s, index) => {
    if (BOILERPLATE_STEMS.has(s)) return;
    counts.set(s, (counts.get(s) ?? 0) + 1);
    if (!firstIndex.has(s)) firstIndex.set(s, index);
  });
  const ranked = [...counts].map(([s, count]) => {
    const first = firstIndex.get(s) ?? 0;
    return { stem: s, weight: count + (1 - first / n), first };
  });
  ranked.sort((a, b) => b.weight - a.weight || a.first - b.first);
  return ranked.slice(0, topK).map(({ stem: s, weight }) => ({ stem: s, weight }));
}

/** Options of `createCoverage`. */
export interface CoverageOptions {
  /** Number of salient source stems to look for; DEFAULT_COVERAGE_TOP_K when omitted. */
  topK?: number;
  /** Registry name; "coverage" when omitted. */
  name?: string;
}

/**
 * Creates a coverage reward: the weighted share of the source's top-k salient stems (see
 * `salientStems`) that occur among the summary's content-word stems.
 *
 * coverage = Σ_{s ∈ top-k, s in summary} weight(s) / Σ_{s ∈ top-k} weight(s), in [0, 1].
 *
 * An empty summary covers nothing and scores 0. A source without content words has nothing to
 * cover, and every summary of it scores 0. The reward grows with every additional source term the
 * summary copies, so it favours long, extractive summaries and conflicts with brevity.
 */
export function createCoverage(options: CoverageOptions = {}): RewardFunction {
  const topK = options.topK ?? DEFAULT_COVERAGE_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) {
    throw new RangeError(`coverage topK must be a positive integer, got ${topK}`);
  }
  const salientMemo = new BoundedCache<string, { stems: SalientStem[]; total: number }>(4096);

  function salientFor(source: string): { stems: SalientStem[]; total: number } {
    let entry = salientMemo.get(source);
    if (entry === undefined) {
      const stems = salientStems(source, topK);
      const total = stems.reduce((sum, s) => sum + s.weight, 0);
      entry = { stems, total };
      salientMemo.set(source, entry);
    }
    return entry;
  }

  return {
    name: options.name ?? "coverage",
    description:
      `Weighted share of the source's top ${topK} salient content-word stems ` +
      `(weighted by frequency and earliness) that the summary mentions.`,
    range: [0, 1],
    higherIsBetter: true,
    score({ source, summary }: RewardInput): number {
      const { stems, total } = salientFor(source);
      if (total === 0) return 0;
      const present = contentStems(summary).stemSet;
      let covered = 0;
      for (const s of stems) {
        if (present.has(s.stem)) covered += s.weight;
      }
      return Math.min(1, covered / total);
    },
  };
}

/** The coverage reward with the default top-k. */
export const coverage: RewardFunction = createCoverage();
