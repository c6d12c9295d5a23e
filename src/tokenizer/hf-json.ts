// Reading and writing the Hugging Face `tokenizer.json` format for byte-level BPE tokenizers, the
// layout GPT-2's tokenizer uses. The reader accepts only files that clp encodes exactly as Hugging
// Face does, and names the file and the offending field in every error.

import { BYTE_TO_CHAR } from "./byte-level.js";

/** Everything that defines a byte-level BPE tokenizer, independent of file format. */
export interface BpeTokenizerData {
  /**
   * Token of each id: a byte-level spelling for BPE tokens and the literal text for special tokens.
   * Ids are contiguous from 0.
   */
  tokens: string[];
  /** Literal texts of the special tokens, each also present in `tokens`. */
  specialTokens: string[];
  /** Merges in rank order (first applies first), each as the pair of tokens it joins. */
  merges: Array<[string, string]>;
}

/** Error for a tokenizer file that is malformed or uses a feature clp does not implement. */
export class TokenizerFileError extends Error {
  /** File path or other name of the source that was read. */
  readonly source: string;
  /** Dotted path of the JSON field that is wrong, or "" for the whole file. */
  readonly field: string;

  constructor(source: string, field: string, detail: string) {
    super(field === "" ? `${source}: ${detail}` : `${source}: ${field} ${detail}`);
    this.name = "TokenizerFileError";
    this.source = source;
    this.field = field;
  }
}

const BYTE_LEVEL = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true };

/**
 * Formats tokenizer data as a Hugging Face `tokenizer.json`. The file has a BPE model whose vocab
 * lists every token in id order, a ByteLevel pre-tokenizer, decoder and post-processor, no
 * normalizer, and each special token as a special added token. Merges are written as "left right"
 * strings, which older `tokenizers` versions also read and which are unambiguous because
 * byte-level tokens contain no space.
 */
export function formatHuggingFaceJson(data: BpeTokenizerData): string {
  const specials = new Set(data.specialTokens);
  const addedTokens = data.tokens.flatMap((content, id) =>
    specials.has(content)
      ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }]
      : [],
  );
  const header = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
  };
  // The model is written by hand so that vocab keeps id order: JSON.stringify would move
  // integer-like keys such as "0" or "10" to the front of the object.
  const vocabLines = data.tokens.map((token, id) => `      ${JSON.stringify(token)}: ${id}`);
  const mergeLines = data.merges.map(([left, right]) => `      ${JSON.stringify(`${left} ${right}`)}`);
  const model = [
    `  "model": {`,
    `    "type": "BPE",`,
    `    "dropout": null,`,
    `    "unk_token": null,`,
    `    "continuing_subword_prefix": null,`,
    `    "end_of_word_suffix": null,`,
    `    "fuse_unk": false,`,
    `    "byte_fallback": false,`,
    `    "ignore_merges": false,`,
    `    "vocab": {${vocabLines.length > 0 ? `\n${vocabLines.join(",\n")}\n    ` : ""}},`,
    `    "merges": [${mergeLines.length > 0 ? `\n${mergeLines.join(",\n")}\n    ` : ""}]`,
    `  }`,
  ].join("\n");
  const headerText = JSON.stringify(header, null, 2);
  return `${headerText.slice(0, headerText.lastIndexOf("}")).trimEnd()},\n${model}\n}\n`;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) {
    return "missing";
  }
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Parses a Hugging Face `tokenizer.json` holding a GPT-2-style byte-level BPE tokenizer.
 *
 * The model must be of type "BPE" without dropout, subword affixes, byte fallback or ignore_merges.
 * The file must have no normalizer, a ByteLevel pre-tokenizer with add_prefix_space false and the
 * GPT-2 regex, a ByteLevel decoder, and no post-processor or a ByteLevel one. Added tokens must be
 * special and not strip spaces. The vocab must contain all 256 byte symbols, and the ids of vocab
 * and added tokens together must run from 0 without gaps. Every merge must join two vocab tokens
 * into a third one, written as a "left right" string or a [left, right] array.
 *
 * @param source file path or name used in error messages
 * @throws TokenizerFileError naming the source and the field that is wrong
 */
export function parseHuggingFaceJson(json: string, source: string): BpeTokenizerData {
  const fail = (field: string, detail: string): never => {
    throw new TokenizerFileError(source, field, detail);
  };

  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch (error) {
    return fail("", `is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(root)) {
    return fail("", `must contain a JSON object, found ${describe(root)}`);
  }

  const model = root["model"];
  if (!isObject(model)) {
    return fail("model", `is ${describe(model)}; expected an object with type "BPE"`);
  }
  if (model["type"] !== "BPE") {
    return fail("model.type", `is ${describe(model["type"])}; clp reads only byte-level BPE tokenizers`);
  }
  const dropout = model["dropout"];
  if (dropout !== undefined && dropout !== null && dropout !== 0) {
    fail("model.dropout", `is ${describe(dropout)}; clp encodes deterministically and needs null`);
  }
  for (const affix of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    const value = model[affix];
    if (value !== undefined && value !== null && value !== "") {
      fail(`model.${affix}`, `is ${describe(value)}; byte-level BPE uses none, so it must be null`);
    }
  }
  for (const flag of ["byte_fallback", "ignore_merges"]) {
    const value = model[flag];
    if (value !== undefined && value !== false) {
      fail(`model.${flag}`, `is ${describe(value)}; clp supports only false`);
    }
  }

  if (root["normalizer"] !== undefined && root["normalizer"] !== null) {
    fail("normalizer", `is ${describe(root["normalizer"])}; clp applies no normalizer, so it must be null`);
  }
  const preTokenizer = root["pre_tokenizer"];
  if (!isObject(preTokenizer) || preTokenizer["type"] !== "ByteLevel") {
    fail("pre_tokenizer", `is ${describe(preTokenizer)}; expected {"type": "ByteLevel", ...}`);
  } else {
    if (preTokenizer["add_prefix_space"] !== false) {
      fail(
        "pre_tokenizer.add_prefix_space",
        `is ${describe(preTokenizer["add_prefix_space"])}; clp needs false (a missing value means true in the Rust library)`,
      );
    }
    if (preTokenizer["use_regex"] !== undefined && preTokenizer["use_regex"] !== true) {
      fail("pre_tokenizer.use_regex", `is ${describe(preTokenizer["use_regex"])}; clp needs true (the GPT-2 regex)`);
    }
  }
  const decoder = root["decoder"];
  if (!isObject(decoder) || decoder["type"] !== "ByteLevel") {
    fail("decoder", `is ${describe(decoder)}; expected {"type": "ByteLevel", ...}`);
  }
  const postProcessor = root["post_processor"];
  if (postProcessor !== undefined && postProcessor !== null) {
    if (!isObject(postProcessor) || postProcessor["type"] !== "ByteLevel") {
      fail("post_processor", `is ${describe(postProcessor)}; clp adds no tokens around the text, so it must be null or ByteLevel`);
    }
  }

  const vocab = model["vocab"];
  if (!isObject(vocab)) {
    return fail("model.vocab", `is ${describe(vocab)}; expected an object that maps tokens to ids`);
  }
  const tokensById = new Map<number, string>();
  const claimId = (id: unknown, token: string, field: string): void => {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      fail(field, `is ${describe(id)}; expected a non-negative integer id`);
      return;
    }
    const other = tokensById.get(id);
    if (other !== undefined && other !== token) {
      fail(field, `gives id ${id} to ${describe(token)}, which already belongs to ${describe(other)}`);
    }
    tokensById.set(id, token);
  };
  for (const [token, id] of Object.entries(vocab)) {
    claimId(id, token, `model.vocab[${JSON.stringify(token)}]`);
  }
  for (const [byte, symbol] of BYTE_TO_CHAR.entries()) {
    if (!Object.hasOwn(vocab, symbol)) {
      fail("model.vocab", `has no token for byte 0x${byte.toString(16).padStart(2, "0")} (${JSON.stringify(symbol)}); a byte-level vocab needs all 256`);
    }
  }

  const addedTokens = root["added_tokens"] ?? [];
  if (!Array.isArray(addedTokens)) {
    return fail("added_tokens", `is ${describe(addedTokens)}; expected an array`);
  }
  const specialTokens: string[] = [];
  addedTokens.forEach((entry: unknown, index) => {
    const field = `added_tokens[${index}]`;
    if (!isObject(entry)) {
      fail(field, `is ${describe(entry)}; expected an object`);
      return;
    }
    const content = entry["content"];
    if (typeof content !== "string" || content === "") {
      fail(`${field}.content`, `is ${describe(content)}; expected a non-empty string`);
      return;
    }
    if (entry["special"] !== true) {
      fail(`${field}.special`, `is ${describe(entry["special"])}; clp supports only special added tokens`);
    }
    for (const flag of ["single_word", "lstrip", "rstrip"]) {
      if (entry[flag] !== undefined && entry[flag] !== false) {
        fail(`${field}.${flag}`, `is ${describe(entry[flag])}; clp supports only false`);
      }
    }
    const vocabId = Object.hasOwn(vocab, content) ? vocab[content] : undefined;
    if (vocabId !== undefined && vocabId !== entry["id"]) {
      fail(`${field}.id`, `is ${describe(entry["id"])} but model.vocab gives ${JSON.stringify(content)} id ${describe(vocabId)}`);
    }
    claimId(entry["id"], content, `${field}.id`);
    specialTokens.push(content);
  });

  const tokens: string[] = [];
  for (let id = 0; id < tokensById.size; id++) {
    const token = tokensById.get(id);
    if (token === undefined) {
      fail("model.vocab", `has no token with id ${id}; ids of vocab and added_tokens must run from 0 to ${tokensById.size - 1}`);
    }
    tokens.push(token as string);
  }

  const merges = model["merges"];
  if (!Array.isArray(merges)) {
    return fail("model.merges", `is ${describe(merges)}; expected an array`);
  }
  const seenMerges = new Map<string, number>();
  const pairs: Array<[string, string]> = merges.map((merge: unknown, index): [string, string] => {
    const field = `model.merges[${index}]`;
    let pair: unknown[] | undefined;
    if (typeof merge === "string") {
      pair = merge.split(" ");
    } else if (Array.isArray(merge)) {
      pair = merge;
    }
    if (pair === undefined || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      return fail(field, `is ${describe(merge)}; expected "left right" or ["left", "right"]`);
    }
    const [left, right] = pair as [string, string];
    for (const part of [left, right, left + right]) {
      if (!Object.hasOwn(vocab, part)) {
        fail(field, `(${describe(merge)}) uses ${JSON.stringify(part)}, which is not in model.vocab`);
      }
    }
    const key = `${left} ${right}`;
    const first = seenMerges.get(key);
    if (first !== undefined) {
      fail(field, `(${describe(merge)}) repeats model.merges[${first}]`);
    }
    seenMerges.set(key, index);
    return [left, right];
  });

  return { tokens, specialTokens, merges: pairs };
}
