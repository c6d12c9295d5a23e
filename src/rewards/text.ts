// Text normalisation shared by the rewards: tokenisation into lowercase alphanumeric words, a short
// hand-written English stopword list, and content-word stems with a small memo so that scoring the
// same source for many sampled summaries does not redo the work.

import { stem } from "./stem.js";

/**
 * English function words, plus the single letters and abbreviations that tokenising "e.g." or
 * "don't" leaves behind. Single letters that name things in package descriptions ("c", "r", "x")
 * are deliberately absent, so they count as content words.
 */
export const STOPWORDS: ReadonlySet<string> = new Set([
  "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
  "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
  "but", "by", "can", "could", "d", "did", "do", "does", "doing", "down", "during", "e", "each",
  "eg", "either", "etc", "few", "for", "from", "further", "g", "had", "has", "have", "having",
  "he", "her", "here", "hers", "him", "his", "how", "however", "i", "ie", "if", "in", "into",
  "is", "it", "its", "itself", "just", "ll", "m", "may", "might", "more", "most", "much", "must",
  "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
  "out", "over", "own", "re", "s", "same", "she", "should", "so", "some", "such", "t", "than",
  "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through",
  "to", "too", "under", "until", "up", "upon", "us", "ve", "very", "via", "was", "we", "well",
  "were", "what", "when", "where", "whether", "which", "while", "who", "whom", "why", "will",
  "with", "within", "without", "would", "yet", "you", "your",
]);

const WORD_PATTERN = /[\p{L}\p{N}]+/gu;

/**
 * Splits text into lowercase words: maximal runs of Unicode letters and digits. Punctuation and
 * whitespace separate words, so "libfoo-dev" gives ["libfoo", "dev"] and "C++" gives ["c"].
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD_PATTERN) ?? [];
}

/** Reports whether a lowercase word carries content, meaning it is not in STOPWORDS. */
export function isContentWord(word: string): boolean {
  return !STOPWORDS.has(word);
}

/**
 * A map that drops its oldest entry when a new key would exceed `capacity` entries. It keeps
 * memory bounded while a training run scores millions of distinct texts.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`cache capacity must be a positive integer, got ${capacity}`);
    }
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.capacity && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }
}

const stemMemo = new BoundedCache<string, string>(50_000);

/** Stems a lowercase word through a process-wide memo; the result equals `stem(word)`. */
export function stemCached(word: string): string {
  let result = stemMemo.get(word);
  if (result === undefined) {
    result = stem(word);
    stemMemo.set(word, result);
  }
  return result;
}

/** The content words of a text, reduced to stems, in reading order. */
export interface ContentStems {
  /** Number of words in the text, stopwords included. */
  readonly wordCount: number;
  /** Stem of each content word, in order, repeats kept. */
  readonly stems: readonly string[];
  /** Distinct values of `stems`. */
  readonly stemSet: ReadonlySet<string>;
}

/** Tokenises a text and stems its content words. */
export function contentStems(text: string): ContentStems {
  const words = tokenize(text);
  const stems: string[] = [];
  for (const word of words) {
    if (isContentWord(word)) stems.push(stemCached(word));
  }
  return { wordCount: words.length, stems, stemSet: new Set(stems) };
}

const sourceMemo = new BoundedCache<string, ContentStems>(4096);

/**
 * Returns `contentStems(source)` through a memo, because during training each source is scored
 * once per sampled summary. The returned object is shared, so callers must not modify it.
 */
export function sourceContentStems(source: string): ContentStems {
  let result = sourceMemo.get(source);
  if (result === undefined) {
    result = contentStems(source);
    sourceMemo.set(source, result);
  }
  return result;
}
