// clp's byte-level BPE tokenizer: GPT-2 pre-tokenization, merges applied by rank, lossless decode,
// and the Hugging Face tokenizer.json format for saving and loading.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import { BYTE_TO_CHAR, byteLevelToBytes } from "./byte-level.js";
import { type BpeTokenizerData, TokenizerFileError, formatHuggingFaceJson, parseHuggingFaceJson } from "./hf-json.js";
import { MAX_TOKEN_IDS, MergeTable } from "./merge-table.js";
import { buildSpecialTokenPattern, pretokenize, splitOnSpecialTokens } from "./pretokenize.js";
import { countWords, learnMerges } from "./train.js";

/** End-of-text token, which separates documents and marks where generation stops. */
export const EOS_TOKEN = "<|endoftext|>";
/** Padding token for batches of unequal length. */
export const PAD_TOKEN = "<|pad|>";
/** Special tokens of every clp tokenizer, in id order: `<|endoftext|>` is id 0, `<|pad|>` is id 1. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = [EOS_TOKEN, PAD_TOKEN];

/** Options of {@link trainBpe}. */
export interface BpeTrainingOptions {
  /** Target vocabulary size, counting special tokens and the 256 byte tokens. */
  vocabSize: number;
  /** Special tokens, given ids 0, 1, … in this order. Must include `<|endoftext|>` and `<|pad|>`. */
  specialTokens: readonly string[];
  /** Minimum count of a pair to be merged, 2 by default. Training stops at the first pair below it. */
  minFrequency?: number;
}

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Whether literal occurrences of special tokens in the text become their special ids. Off by
   * default, so they encode as ordinary bytes and text from users or data cannot inject one.
   */
  allowSpecial?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Whether to leave special tokens out of the decoded text. Off by default, which writes their literal text. */
  skipSpecial?: boolean;
}

/** Words longer than this many UTF-16 code units are encoded without caching. */
const MAX_CACHED_WORD_LENGTH = 256;
/** The word cache is cleared when it reaches this many entries. */
const WORD_CACHE_CAPACITY = 1 << 18;

/**
 * Byte-level BPE tokenizer in the GPT-2 style. Text is split by the GPT-2 pre-tokenizer regex, each
 * piece is spelled as UTF-8 bytes, and merges are applied lowest rank first, with the leftmost
 * occurrence first among equal ranks, which matches Hugging Face `tokenizers`.
 *
 * `decode(encode(text))` returns `text` for every string that is valid UTF-16, that is, without
 * lone surrogates (the UTF-8 encoder replaces those with U+FFFD).
 */
export class Tokenizer {
  /** Id of `<|endoftext|>`. */
  readonly eosId: number;
  /** Id of `<|pad|>`. */
  readonly padId: number;
  /** Literal texts of the special tokens. */
  readonly specialTokens: readonly string[];
  /** Merges in rank order, each as the pair of tokens it joins. */
  readonly merges: ReadonlyArray<readonly [string, string]>;

  private readonly tokens: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;
  private readonly specialIds: ReadonlySet<number>;
  private readonly specialPattern: RegExp | undefined;
  /** Id of the token for each byte value. */
  private readonly byteIds = new Int32Array(256);
  private readonly mergeTable: MergeTable;
  /** UTF-8 bytes of each token, indexed by id. */
  private readonly tokenBytes: Uint8Array[];
  private readonly wordCache = new Map<string, readonly number[]>();
  private readonly textDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  /**
   * Builds a tokenizer from its tokens, special tokens and merges.
   *
   * @throws Error when the data is inconsistent: a byte symbol or a merge token is missing, or
   *   `<|endoftext|>` or `<|pad|>` is not a special token. {@link Tokenizer.fromHuggingFaceJson}
   *   checks files more thoroughly and names the field.
   */
  constructor(data: BpeTokenizerData) {
    if (data.tokens.length > MAX_TOKEN_IDS) {
      throw new RangeError(`a vocabulary of ${data.tokens.length} tokens exceeds the maximum of ${MAX_TOKEN_IDS}`);
    }
    this.tokens = [...data.tokens];
    this.specialTokens = [...data.specialTokens];
    this.merges = data.merges.map(([left, right]) => [left, right] as const);
    const ids = new Map<string, number>();
    this.tokens.forEach((token, id) => {
      if (ids.has(token)) {
        throw new Error(`token ${JSON.stringify(token)} appears twice in the vocabulary, at ids ${ids.get(token)} and ${id}`);
      }
      ids.set(token, id);
    });
    this.ids = ids;

    const requireId = (token: string, role: string): number => {
      const id = ids.get(token);
      if (id === undefined) {
        throw new Error(`the vocabulary has no ${role} ${JSON.stringify(token)}`);
      }
      return id;
    };
    const specialIds = new Set<number>();
    for (const special of this.specialTokens) {
      specialIds.add(requireId(special, "special token"));
    }
    this.specialIds = specialIds;
    for (const required of DEFAULT_SPECIAL_TOKENS) {
      if (!this.specialTokens.includes(required)) {
        throw new Error(`${JSON.stringify(required)} must be a special token; clp needs both ${DEFAULT_SPECIAL_TOKENS.join(" and ")}`);
      }
    }
    this.eosId = requireId(EOS_TOKEN, "special token");
    this.padId = requireId(PAD_TOKEN, "special token");
    this.specialPattern = buildSpecialTokenPattern(this.specialTokens);

    for (let byte = 0; byte < 256; byte++) {
      this.byteIds[byte] = requireId(BYTE_TO_CHAR[byte] as string, `token for byte ${byte}`);
    }
    this.mergeTable = new MergeTable(
      this.merges.map(([left, right]) => [
        requireId(left, "merge token"),
        requireId(right, "merge token"),
        requireId(left + right, "merged token"),
      ]),
    );

    const encoder = new TextEncoder();
    this.tokenBytes = this.tokens.map((token, id) => {
      if (specialIds.has(id)) {
        return encoder.encode(token);
      }
      const bytes = byteLevelToBytes(token);
      if (bytes === undefined) {
        throw new Error(`token ${id} (${JSON.stringify(token)}) has a character outside the byte-level alphabet`);
      }
      return bytes;
    });
  }

  /** Number of tokens, special tokens included; valid ids are 0 to `vocabSize - 1`. */
  get vocabSize(): number {
    return this.tokens.length;
  }

  /** Returns the id of a token (byte-level spelling, or literal text for a special token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Returns the token with an id, or undefined when the id is out of range. */
  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  /** Tells whether an id is the id of a special token. */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Encodes text to token ids. Adds no tokens of its own, such as a final `<|endoftext|>`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    if (options.allowSpecial === true) {
      for (const section of splitOnSpecialTokens(text, this.specialPattern)) {
        if (section.isSpecial) {
          ids.push(this.ids.get(section.text) as number);
        } else {
          this.encodeOrdinary(section.text, ids);
        }
      }
    } else {
      this.encodeOrdinary(text, ids);
    }
    return ids;
  }

  /**
   * Decodes token ids to text. Special tokens decode to their literal text unless `skipSpecial` is
   * set. A sequence that ends inside a multi-byte character decodes that part as U+FFFD.
   *
   * @throws RangeError naming the first id that is not an integer from 0 to `vocabSize - 1`
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skipSpecial = options.skipSpecial === true;
    let length = 0;
    for (const id of ids) {
      const bytes = this.tokenBytes[id];
      if (bytes === undefined || !Number.isInteger(id)) {
        throw new RangeError(`token id ${id} is out of range for a vocabulary of ${this.vocabSize} tokens (valid ids are 0 to ${this.vocabSize - 1})`);
      }
      if (!(skipSpecial && this.specialIds.has(id))) {
        length += bytes.length;
      }
    }
    const buffer = new Uint8Array(length);
    let offset = 0;
    for (const id of ids) {
      if (skipSpecial && this.specialIds.has(id)) {
        continue;
      }
      const bytes = this.tokenBytes[id] as Uint8Array;
      buffer.set(bytes, offset);
      offset += bytes.length;
    }
    return this.textDecoder.decode(buffer);
  }

  /** Formats the tokenizer as a Hugging Face `tokenizer.json`. */
  toHuggingFaceJson(): string {
    return formatHuggingFaceJson({
      tokens: [...this.tokens],
      specialTokens: [...this.specialTokens],
      merges: this.merges.map(([left, right]) => [left, right]),
    });
  }

  /**
   * Returns the `tokenizer_config.json` contents that Hugging Face loaders read beside
   * `tokenizer.json`: the end-of-text and padding tokens, and no clean-up of spaces on decode, so
   * their decoded text equals clp's.
   */
  huggingFaceConfig(): Record<string, unknown> {
    return {
      tokenizer_class: "PreTrainedTokenizerFast",
      bos_token: EOS_TOKEN,
      eos_token: EOS_TOKEN,
      pad_token: PAD_TOKEN,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
    };
  }

  /**
   * Reads a tokenizer from Hugging Face `tokenizer.json` text. See {@link parseHuggingFaceJson} for
   * what is accepted; in addition, `<|endoftext|>` and `<|pad|>` must be special added tokens.
   *
   * @param sourceName file path or name used in error messages
   * @throws TokenizerFileError naming the source and the field that is wrong
   */
  static fromHuggingFaceJson(json: string, sourceName = "tokenizer.json"): Tokenizer {
    const data = parseHuggingFaceJson(json, sourceName);
    for (const required of DEFAULT_SPECIAL_TOKENS) {
      if (!data.specialTokens.includes(required)) {
        throw new TokenizerFileError(
          sourceName,
          "added_tokens",
          `has no special token ${JSON.stringify(required)}; clp needs both ${DEFAULT_SPECIAL_TOKENS.join(" and ")}`,
        );
      }
    }
    return new Tokenizer(data);
  }

  /**
   * Writes the tokenizer as a Hugging Face `tokenizer.json`, creating missing parent folders. The
   * file is written to a temporary name beside the target and then renamed over it, so readers see
   * either the old file or the complete new one.
   */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
    try {
      writeFileSync(temporary, this.toHuggingFaceJson());
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  /** Reads a tokenizer saved by {@link Tokenizer.save} or any compatible `tokenizer.json`. */
  static load(path: string): Tokenizer {
    return Tokenizer.fromHuggingFaceJson(readFileSync(path, "utf8"), path);
  }

  private encodeOrdinary(text: string, ids: number[]): void {
    for (const word of pretokenize(text)) {
      let wordIds = this.wordCache.get(word);
      if (wordIds === undefined) {
        wordIds = this.encodeWord(word);
        if (word.length <= MAX_CACHED_WORD_LENGTH) {
          if (this.wordCache.size >= WORD_CACHE_CAPACITY) {
            this.wordCache.clear();
          }
          this.wordCache.set(word, wordIds);
        }
      }
      for (const id of wordIds) {
        ids.push(id);
      }
    }
  }

  private encodeWord(word: string): number[] {
    const bytes = Buffer.from(word, "utf8");
    const symbols = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      symbols[i] = this.byteIds[bytes[i] as number] as number;
    }
    return this.mergeTable.apply(symbols);
  }
}

/**
 * Trains a byte-level BPE tokenizer on texts.
 *
 * Ids: the special tokens come first in the order given (with {@link DEFAULT_SPECIAL_TOKENS},
 * `<|endoftext|>` is 0 and `<|pad|>` is 1), then the 256 byte tokens in byte order, then one token
 * per learned merge. Special tokens that appear literally in a text split it and are not learned
 * from. See {@link learnMerges} for the merge order and tie-breaking. The result has fewer than
 * `vocabSize` tokens when the texts run out of pairs seen at least `minFrequency` times.
 */
export function trainBpe(texts: Iterable<string>, options: BpeTrainingOptions): Tokenizer {
  const specialTokens = [...options.specialTokens];
  const minFrequency = options.minFrequency ?? 2;
  const baseSize = specialTokens.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < baseSize || options.vocabSize > MAX_TOKEN_IDS) {
    throw new RangeError(
      `vocabSize ${options.vocabSize} is invalid; it must be an integer from ${baseSize} (${specialTokens.length} special tokens + 256 bytes) to ${MAX_TOKEN_IDS}`,
    );
  }
  if (!Number.isFinite(minFrequency) || minFrequency < 1) {
    throw new RangeError(`minFrequency ${minFrequency} is invalid; it must be at least 1`);
  }
  for (const special of specialTokens) {
    if (special === "") {
      throw new Error("special tokens must not be empty strings");
    }
  }
  if (new Set(specialTokens).size !== specialTokens.length) {
    throw new Error(`special tokens contain a duplicate: ${JSON.stringify(specialTokens)}`);
  }
  for (const required of DEFAULT_SPECIAL_TOKENS) {
    if (!specialTokens.includes(required)) {
      throw new Error(`special tokens ${JSON.stringify(specialTokens)} lack ${JSON.stringify(required)}; clp needs both ${DEFAULT_SPECIAL_TOKENS.join(" and ")}`);
    }
  }

  const wordCounts = countWords(texts, buildSpecialTokenPattern(specialTokens));
  const learned = learnMerges(wordCounts, options.vocabSize - specialTokens.length, minFrequency);
  return new Tokenizer({
    tokens: [...specialTokens, ...learned.symbols],
    specialTokens,
    merges: learned.merges,
  });
}

export { TokenizerFileError } from "./hf-json.js";
export type { BpeTokenizerData } from "./hf-json.js";
