// Applying BPE merges to one pre-token at encode time, lowest rank first and leftmost first among
// equal ranks, the order Hugging Face `tokenizers` uses.

/** Largest token id plus one that {@link MergeTable} can key: pair keys are `left * 2^21 + right`. */
export const MAX_TOKEN_IDS = 1 << 21;

/** Merges of a tokenizer as ids, ready to apply to words. */
export class MergeTable {
  /** Rank of each merge, keyed by `left id * MAX_TOKEN_IDS + right id`. */
  private readonly ranks = new Map<number, number>();
  /** Id of the token each merge produces, indexed by rank. */
  private readonly results: Int32Array;

  /**
   * Builds the table from merges in rank order, each as (left id, right id, merged id). A pair
   * listed twice keeps its first rank.
   */
  constructor(merges: ReadonlyArray<readonly [number, number, number]>) {
    this.results = new Int32Array(merges.length);
    merges.forEach(([left, right, merged], rank) => {
      if (left >= MAX_TOKEN_IDS || right >= MAX_TOKEN_IDS) {
        throw new RangeError(`merge ${rank} uses id ${Math.max(left, right)}, above the maximum of ${MAX_TOKEN_IDS - 1}`);
      }
      const key = left * MAX_TOKEN_IDS + right;
      if (!this.ranks.has(key)) {
        this.ranks.set(key, rank);
      }
      this.results[rank] = merged;
    });
  }

  /**
   * Merges the symbols of one word, given as token ids (at first one per byte), and returns the
   * resulting ids. The symbols form a linked list over their original positions, and a min-heap
   * orders candidate pairs by (rank, position). Each merge therefore costs O(log n), and a long
   * word does not cost a rescan per merge. A heap entry is stale, and skipped, when its position
   * has been merged away or now starts a pair of a different rank.
   */
  apply(symbols: Int32Array): number[] {
    const n = symbols.length;
    if (n < 2 || this.ranks.size === 0) {
      return Array.from(symbols);
    }
    const next = new Int32Array(n);
    const previous = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      previous[i] = i - 1;
    }
    // Heap entries pack rank * 2^32 + position into one number, exact below 2^53 because ranks
    // stay below 2^21 and positions below 2^32.
    const heap = new MinHeap();
    const pushPair = (position: number): void => {
      const right = next[position] as number;
      if (right < 0) {
        return;
      }
      const rank = this.ranks.get((symbols[position] as number) * MAX_TOKEN_IDS + (symbols[right] as number));
      if (rank !== undefined) {
        heap.push(rank * 2 ** 32 + position);
      }
    };
    for (let i = 0; i + 1 < n; i++) {
      pushPair(i);
    }

    const removed = new Uint8Array(n);
    while (heap.size > 0) {
      const entry = heap.pop();
      const rank = Math.floor(entry / 2 ** 32);
      const position = entry - rank * 2 ** 32;
      const right = next[position] as number;
      if (removed[position] === 1 || right < 0) {
        continue;
      }
      const currentRank = this.ranks.get((symbols[position] as number) * MAX_TOKEN_IDS + (symbols[right] as number));
      if (currentRank !== rank) {
        continue;
      }
      symbols[position] = this.results[rank] as number;
      removed[right] = 1;
      const afterRight = next[right] as number;
      next[position] = afterRight;
      if (afterRight >= 0) {
        previous[afterRight] = position;
      }
      const left = previous[position] as number;
      if (left >= 0) {
        pushPair(left);
      }
      pushPair(position);
    }

    const result: number[] = [];
    for (let i = 0; i >= 0; i = next[i] as number) {
      result.push(symbols[i] as number);
    }
    return result;
  }
}

/** Binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: number): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentItem = items[parent] as number;
      if (parentItem <= item) {
        break;
      }
      items[i] = parentItem;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the smallest item. The heap must not be empty. */
  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    const last = items.pop() as number;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) {
          break;
        }
        const right = left + 1;
        const child = right < n && (items[right] as number) < (items[left] as number) ? right : left;
        if ((items[child] as number) >= last) {
          break;
        }
        items[i] = items[child] as number;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
