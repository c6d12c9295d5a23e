// BPE merge learning. Words are counted once, then each merge updates only the pair counts of the
// words that contain the merged pair, found through a pair-to-words index, and the next pair comes
// from a max-heap with lazily corrected counts. Nothing is recounted from scratch after a merge.

import { BYTE_TO_CHAR } from "./byte-level.js";
import { pretokenize, splitOnSpecialTokens } from "./pretokenize.js";

/** Merges and token spellings produced by {@link learnMerges}. */
export interface LearnedMerges {
  /**
   * Byte-level spelling of each symbol: the 256 byte symbols in byte order, then every token that
   * a merge created, in creation order.
   */
  symbols: string[];
  /** Merges in the order they were learned, each as the pair of byte-level spellings it joins. */
  merges: Array<[string, string]>;
}

/** Largest symbol count that {@link pairKey} can pack into one safe integer. */
export const MAX_SYMBOLS = 1 << 21;

function pairKey(left: number, right: number): number {
  return left * MAX_SYMBOLS + right;
}

/**
 * Counts the GPT-2 pre-tokens of all texts. Special tokens that appear literally in a text are cut
 * out first, so they neither count as words nor join the words beside them.
 */
export function countWords(texts: Iterable<string>, specialPattern: RegExp | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const section of splitOnSpecialTokens(text, specialPattern)) {
      if (section.isSpecial) {
        continue;
      }
      for (const word of pretokenize(section.text)) {
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/**
 * Max-heap of (count, pair key) entries. Higher counts come first, and equal counts come in
 * ascending key order, which is ascending left symbol id, then ascending right symbol id.
 */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    this.siftUp(this.keys.length - 1);
  }

  peekCount(): number {
    return this.counts[0] ?? 0;
  }

  peekKey(): number {
    return this.keys[0] ?? -1;
  }

  pop(): void {
    const lastCount = this.counts.pop();
    const lastKey = this.keys.pop();
    if (this.keys.length > 0 && lastCount !== undefined && lastKey !== undefined) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      this.siftDown(0);
    }
  }

  private before(i: number, j: number): boolean {
    const countI = this.counts[i] ?? 0;
    const countJ = this.counts[j] ?? 0;
    if (countI !== countJ) {
      return countI > countJ;
    }
    return (this.keys[i] ?? 0) < (this.keys[j] ?? 0);
  }

  private swap(i: number, j: number): void {
    const count = this.counts[i] ?? 0;
    const key = this.keys[i] ?? 0;
    this.counts[i] = this.counts[j] ?? 0;
    this.keys[i] = this.keys[j] ?? 0;
    this.counts[j] = count;
    this.keys[j] = key;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) {
        return;
      }
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.keys.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < n && this.before(left, best)) {
        best = left;
      }
      if (right < n && this.before(right, best)) {
        best = right;
      }
      if (best === i) {
        return;
      }
      this.swap(i, best);
      i = best;
    }
  }
}

/**
 * Learns up to `maxSymbols - 256` new tokens by BPE over counted words, each word starting as its
 * UTF-8 bytes.
 *
 * Each step merges the adjacent symbol pair with the highest count, summed over word frequencies
 * and counting overlapping occurrences (so "aaa" counts the pair (a, a) twice). Ties go to the pair
 * whose left symbol has the lower id, then whose right symbol has the lower id. Byte symbols have
 * their byte value as id and merged tokens get the next ids in creation order, so on a tie, pairs
 * of older tokens win. Within a word, a merge joins occurrences left to right without overlap.
 *
 * Learning stops when the symbol count reaches `maxSymbols`, when no pair is left, or when the best
 * pair occurs fewer than `minFrequency` times. A merge whose joined spelling already exists reuses
 * that token, so the merge count can exceed the number of new tokens.
 */
export function learnMerges(wordCounts: ReadonlyMap<string, number>, maxSymbols: number, minFrequency: number): LearnedMerges {
  if (maxSymbols > MAX_SYMBOLS) {
    throw new RangeError(`cannot learn ${maxSymbols} symbols; the maximum is ${MAX_SYMBOLS}`);
  }
  const symbols: string[] = [...BYTE_TO_CHAR];
  const symbolIds = new Map<string, number>(symbols.map((spelling, id) => [spelling, id]));
  const merges: Array<[string, string]> = [];

  // Words of one byte contain no pair, so only longer words are stored.
  const words: Int32Array[] = [];
  const lengths: number[] = [];
  const frequencies: number[] = [];
  for (const [word, frequency] of wordCounts) {
    const bytes = Buffer.from(word, "utf8");
    if (bytes.length >= 2) {
      words.push(Int32Array.from(bytes));
      lengths.push(bytes.length);
      frequencies.push(frequency);
    }
  }

  // pairWords may list a word twice, or a word that lost the pair in a later merge. The merge step
  // skips repeats and finds nothing to join in stale entries.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const addPair = (key: number, delta: number, wordIndex: number): void => {
    const count = (pairCounts.get(key) ?? 0) + delta;
    if (count > 0) {
      pairCounts.set(key, count);
    } else {
      pairCounts.delete(key);
    }
    if (delta > 0) {
      const list = pairWords.get(key);
      if (list === undefined) {
        pairWords.set(key, [wordIndex]);
      } else if (list[list.length - 1] !== wordIndex) {
        list.push(wordIndex);
      }
    }
  };
  for (let w = 0; w < words.length; w++) {
    const symbolsOfWord = words[w] as Int32Array;
    const frequency = frequencies[w] as number;
    for (let i = 0; i + 1 < symbolsOfWord.length; i++) {
      addPair(pairKey(symbolsOfWord[i] as number, symbolsOfWord[i + 1] as number), frequency, w);
    }
  }

  // Invariant: every pair with a positive count has a heap entry whose count is at least its
  // current count. A popped entry above the current count is pushed back with the current count.
  // One below it is dropped, because the increase that raised the count pushed a newer entry.
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) {
    heap.push(count, key);
  }

  const learnedMerges = new Set<string>();
  const lastVisitedByMerge = new Int32Array(words.length).fill(-1);
  let mergeIndex = -1;
  const raisedKeys = new Set<number>();
  while (symbols.length < maxSymbols && heap.size > 0) {
    const key = heap.peekKey();
    const entryCount = heap.peekCount();
    const count = pairCounts.get(key) ?? 0;
    if (count !== entryCount) {
      heap.pop();
      if (count > 0 && count < entryCount) {
        heap.push(count, key);
      }
      continue;
    }
    if (count < minFrequency) {
      break;
    }
    heap.pop();

    const left = Math.floor(key / MAX_SYMBOLS);
    const right = key % MAX_SYMBOLS;
    const leftSpelling = symbols[left] as string;
    const rightSpelling = symbols[right] as string;
    const spelling = leftSpelling + rightSpelling;
    let merged = symbolIds.get(spelling);
    if (merged === undefined) {
      merged = symbols.length;
      symbols.push(spelling);
      symbolIds.set(spelling, merged);
    }
    // A pair can come back after its merge when a later merge rebuilds one of its tokens from
    // other parts. It is joined again, but listed once, because Hugging Face loaders keep only
    // one rank per pair.
    const mergeName = `${leftSpelling} ${rightSpelling}`;
    if (!learnedMerges.has(mergeName)) {
      learnedMerges.add(mergeName);
      merges.push([leftSpelling, rightSpelling]);
    }

    mergeIndex++;
    const candidates = pairWords.get(key) ?? [];
    // Every occurrence of the pair is joined below, so its count drops to zero. For a pair (x, x),
    // "x x x" leaves one x behind, and the decrement of (x, x) for it finds no entry, which is fine.
    pairWords.delete(key);
    pairCounts.delete(key);
    raisedKeys.clear();
    for (const w of candidates) {
      if (lastVisitedByMerge[w] === mergeIndex) {
        continue;
      }
      lastVisitedByMerge[w] = mergeIndex;
      const wordSymbols = words[w] as Int32Array;
      const length = lengths[w] as number;
      const frequency = frequencies[w] as number;
      // Compact the word in place: `read` scans the old symbols and `write` is the next slot of
      // the new ones, so wordSymbols[write - 1] is the already merged left neighbor.
      let write = 0;
      let read = 0;
      while (read < length) {
        const symbol = wordSymbols[read] as number;
        if (symbol === left && read + 1 < length && wordSymbols[read + 1] === right) {
          if (write > 0) {
            const previous = wordSymbols[write - 1] as number;
            addPair(pairKey(previous, left), -frequency, w);
            const raised = pairKey(previous, merged);
            addPair(raised, frequency, w);
            raisedKeys.add(raised);
          }
          if (read + 2 < length) {
            const next = wordSymbols[read + 2] as number;
            addPair(pairKey(right, next), -frequency, w);
            const raised = pairKey(merged, next);
            addPair(raised, frequency, w);
            raisedKeys.add(raised);
          }
          wordSymbols[write] = merged;
          write++;
          read += 2;
        } else {
          wordSymbols[write] = symbol;
          write++;
          read++;
        }
      }
      lengths[w] = write;
    }
    for (const raised of raisedKeys) {
      const raisedCount = pairCounts.get(raised);
      if (raisedCount !== undefined) {
        heap.push(raisedCount, raised);
      }
    }
  }
  return { symbols, merges };
}
