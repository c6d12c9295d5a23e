// Tests of the byte-level BPE tokenizer: pre-tokenization, merge learning against hand-computed
// merges and a brute-force reference trainer, lossless round trips, the tokenizer.json format,
// and agreement with Hugging Face's own JS loader (@huggingface/tokenizers).

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";

import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";

import { BYTE_TO_CHAR, CHAR_TO_BYTE } from "../src/tokenizer/byte-level.js";
import {
  DEFAULT_SPECIAL_TOKENS,
  EOS_TOKEN,
  PAD_TOKEN,
  Tokenizer,
  TokenizerFileError,
  trainBpe,
} from "../src/tokenizer/bpe.js";
import { pretokenize } from "../src/tokenizer/pretokenize.js";

const SYNOPSES_TRAIN = "data/debian-synopses/train.jsonl.gz";

const temporaryRoot = mkdtempSync(join(tmpdir(), "clp-tokenizer-test-"));
after(() => rmSync(temporaryRoot, { recursive: true, force: true }));

/** Strings that stress pre-tokenization, multi-byte UTF-8 and special-token handling. */
const TRICKY_STRINGS: readonly string[] = [
  "",
  " ",
  "   ",
  "\n",
  "\n\n\n",
  "\t\t",
  " \t \n \r\n ",
  "trailing spaces   ",
  "   leading spaces",
  "two  spaces and\tone tab",
  "line one\nline two\n\nline four\n",
  "Windows\r\nline endings\r\n",
  "emoji 😀👍🏽 and a family 👨‍👩‍👧 zwj sequence",
  "CJK 中文字符 and 日本語のテキスト and 한국어",
  "combining marks: e\u0301 a\u0308 o\u0302\u0323 and Zalgo z\u0351\u0352\u0357",
  "\u00a0no-break\u00a0space, soft\u00adhyphen, zero\u200bwidth",
  "\ufeffstarts with a byte order mark",
  "control bytes \u0000 \u0001 \u001f \u007f",
  "astral plane 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 𐍈 and \u{10ffff}",
  "contractions: it's don't we're I've I'm you'll he'd",
  "UPPER 'S 'T mixed",
  "numbers 123 4567890 3.14159 1,000,000 ٣٤٥",
  "punctuation!!! ??? ... --- (a) [b] {c} <d> /e/ \\f\\",
  "a".repeat(5000),
  "supercalifragilisticexpialidocious".repeat(40),
  "x9".repeat(3000),
  `${EOS_TOKEN}`,
  `before${EOS_TOKEN}after`,
  `doc one\n${EOS_TOKEN}\ndoc two\n${EOS_TOKEN}`,
  `${PAD_TOKEN}${PAD_TOKEN}${EOS_TOKEN}`,
  "<|endoftext| not quite <|pad and |>",
];

/** Builds a small mixed corpus of English-like text, code, numbers and a few non-Latin scripts. */
function syntheticCorpus(): string[] {
  const sentences = [
    "The quick brown fox jumps over the lazy dog.",
    "This package contains the shared library for the toolkit.",
    "It provides command-line tools and a Python module.",
    "Install it if you need to convert files between formats.",
    "const x = foo(bar, 42); // returns the answer",
    "Version 2.4.1 fixes 17 bugs in the parser and the scanner.",
    "Ceci est une phrase en français avec des accents: é, è, à.",
    "中文文本的示例，以及一些标点符号。",
    "Emoji are bytes too: 😀 🚀 ✨",
  ];
  const texts: string[] = [];
  for (let i = 0; i < 60; i++) {
    const first = sentences[i % sentences.length] as string;
    const second = sentences[(i * 7 + 3) % sentences.length] as string;
    texts.push(`${first} ${second}\n\n  indented line ${i}\n`);
  }
  return texts;
}

const smallTokenizer = trainBpe(syntheticCorpus(), {
  vocabSize: 500,
  specialTokens: DEFAULT_SPECIAL_TOKENS,
  minFrequency: 2,
});

/** Reads the first `limit` lines of a gzip'd JSON-lines file. */
function readJsonLines(path: string, limit: number): Array<Record<string, unknown>> {
  const lines = gunzipSync(readFileSync(path)).toString("utf8").split("\n");
  return lines
    .filter((line) => line.trim() !== "")
    .slice(0, limit)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function mergesOf(tokenizer: Tokenizer): string[][] {
  return tokenizer.merges.map(([left, right]) => [left, right]);
}

/**
 * Learns merges by brute force as a reference: it recounts every pair of every word after each
 * merge. It follows the documented rules of trainBpe. The highest count wins, and ties go to the
 * lower (left id, right id), with byte ids first and merged tokens in creation order. Occurrences
 * are joined left to right, and a merge that rebuilds an existing token reuses its id.
 */
function referenceMerges(texts: readonly string[], maxSymbols: number, minFrequency: number): string[][] {
  const symbols: string[] = [...BYTE_TO_CHAR];
  const ids = new Map(symbols.map((symbol, id) => [symbol, id]));
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of pretokenize(text)) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  let words = [...counts].map(([word, count]) => ({ symbols: Array.from(Buffer.from(word, "utf8")), count }));
  const merges: string[][] = [];
  const listed = new Set<string>();
  while (symbols.length < maxSymbols) {
    const pairCounts = new Map<string, { left: number; right: number; count: number }>();
    for (const word of words) {
      for (let i = 0; i + 1 < word.symbols.length; i++) {
        const left = word.symbols[i] as number;
        const right = word.symbols[i + 1] as number;
        const key = `${left},${right}`;
        const entry = pairCounts.get(key) ?? { left, right, count: 0 };
        entry.count += word.count;
        pairCounts.set(key, entry);
      }
    }
    let best: { left: number; right: number; count: number } | undefined;
    for (const entry of pairCounts.values()) {
      if (
        best === undefined ||
        entry.count > best.count ||
        (entry.count === best.count && (entry.left < best.left || (entry.left === best.left && entry.right < best.right)))
      ) {
        best = entry;
      }
    }
    if (best === undefined || best.count < minFrequency) {
      break;
    }
    const leftSpelling = symbols[best.left] as string;
    const rightSpelling = symbols[best.right] as string;
    let merged = ids.get(leftSpelling + rightSpelling);
    if (merged === undefined) {
      merged = symbols.length;
      symbols.push(leftSpelling + rightSpelling);
      ids.set(leftSpelling + rightSpelling, merged);
    }
    if (!listed.has(`${leftSpelling} ${rightSpelling}`)) {
      listed.add(`${leftSpelling} ${rightSpelling}`);
      merges.push([leftSpelling, rightSpelling]);
    }
    const { left, right } = best;
    words = words.map((word) => {
      const joined: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === left && word.symbols[i + 1] === right) {
          joined.push(merged);
          i++;
        } else {
          joined.push(word.symbols[i] as number);
        }
      }
      return { symbols: joined, count: word.count };
    });
  }
  return merges;
}

/**
 * Loads a tokenizer into @huggingface/tokenizers from the file clp saved. That loader always
 * matches added tokens in the text (it has no switch like allowSpecial), so its ids are compared
 * with clp's `encode(text, { allowSpecial: true })`. Its decode rejects an empty id list, so
 * empty encodings are compared by ids only.
 */
function checkAgainstHuggingFace(tokenizer: Tokenizer, texts: readonly string[], name: string): void {
  const path = join(temporaryRoot, name, "tokenizer.json");
  tokenizer.save(path);
  const hf = new HfTokenizer(JSON.parse(readFileSync(path, "utf8")) as object, tokenizer.huggingFaceConfig());
  for (const text of texts) {
    const label = JSON.stringify(text.slice(0, 60));
    const ours = tokenizer.encode(text, { allowSpecial: true });
    const theirs = hf.encode(text, { add_special_tokens: false });
    assert.deepEqual(ours, theirs.ids, `ids of ${label}`);
    assert.deepEqual(
      ours.map((id) => tokenizer.idToToken(id)),
      theirs.tokens,
      `tokens of ${label}`,
    );
    if (ours.length > 0) {
      assert.equal(hf.decode(ours), tokenizer.decode(ours), `decoded ${label}`);
      assert.equal(hf.decode(ours, { skip_special_tokens: true }), tokenizer.decode(ours, { skipSpecial: true }), `decoded ${label} without specials`);
    }
  }
  assert.equal(hf.token_to_id(EOS_TOKEN), tokenizer.eosId);
  assert.equal(hf.token_to_id(PAD_TOKEN), tokenizer.padId);
}

/** Deterministic pseudo-random generator (mulberry32) so failures reproduce. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("byte-level alphabet", () => {
  test("maps 256 bytes to distinct characters", () => {
    assert.equal(BYTE_TO_CHAR.length, 256);
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    assert.equal(CHAR_TO_BYTE.size, 256);
  });

  test("matches the GPT-2 table", () => {
    assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
    assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
    assert.equal(BYTE_TO_CHAR[0x00], "\u0100");
    assert.equal(BYTE_TO_CHAR[0x41], "A");
    assert.equal(BYTE_TO_CHAR[0x7f], "\u0121");
    assert.equal(BYTE_TO_CHAR[0xad], "\u0143");
    assert.equal(BYTE_TO_CHAR[0xe9], "é");
  });
});

describe("pretokenize", () => {
  test("splits like GPT-2", () => {
    assert.deepEqual(pretokenize("Hello world's  test!!\n"), ["Hello", " world", "'s", " ", " test", "!!", "\n"]);
    assert.deepEqual(pretokenize("x = 42;"), ["x", " =", " 42", ";"]);
    assert.deepEqual(pretokenize("a\n\n  b"), ["a", "\n\n ", " b"]);
    assert.deepEqual(pretokenize(""), []);
  });

  test("covers every character", () => {
    for (const text of TRICKY_STRINGS) {
      assert.equal(pretokenize(text).join(""), text);
    }
  });
});

describe("trainBpe", () => {
  test("learns hand-computed merges", () => {
    // Words "ab" x1, " ab" x2, " cd" x1: (a, b) occurs 3 times, then (Ġ, ab) twice. The rest are
    // single pairs (Ġ, c) and (c, d). Ġ is byte 0x20 and c is 0x63, so (Ġ, c) goes first.
    const tokenizer = trainBpe(["ab ab ab cd"], { vocabSize: 262, specialTokens: DEFAULT_SPECIAL_TOKENS, minFrequency: 1 });
    assert.deepEqual(mergesOf(tokenizer), [
      ["a", "b"],
      ["Ġ", "ab"],
      ["Ġ", "c"],
      ["Ġc", "d"],
    ]);
    assert.equal(tokenizer.vocabSize, 262);
    assert.deepEqual(tokenizer.encode(" ab"), [tokenizer.tokenToId("Ġab")]);
  });

  test("stops below minFrequency", () => {
    const tokenizer = trainBpe(["ab ab ab cd"], { vocabSize: 262, specialTokens: DEFAULT_SPECIAL_TOKENS, minFrequency: 2 });
    assert.deepEqual(mergesOf(tokenizer), [
      ["a", "b"],
      ["Ġ", "ab"],
    ]);
    assert.equal(tokenizer.vocabSize, 260);
  });

  test("breaks ties by lower token ids", () => {
    // All pairs occur once. (Ġ, b) wins on its left id 0x20. Then (x, y) beats (Ġb, a) because
    // the byte x (0x78) is older than the merged token Ġb (the first merge).
    const tokenizer = trainBpe(["xy ba"], { vocabSize: 300, specialTokens: DEFAULT_SPECIAL_TOKENS, minFrequency: 1 });
    assert.deepEqual(mergesOf(tokenizer), [
      ["Ġ", "b"],
      ["x", "y"],
      ["Ġb", "a"],
    ]);
  });

  test("counts overlapping pairs", () => {
    // "aaa" contains (a, a) twice, so it beats the single pairs of "bcd". Joining left to right
    // leaves "aa a", whose pair (aa, a) then loses the tie to (b, c) and beats (bc, d).
    const tokenizer = trainBpe(["aaa", "bcd"], { vocabSize: 300, specialTokens: DEFAULT_SPECIAL_TOKENS, minFrequency: 1 });
    assert.deepEqual(mergesOf(tokenizer), [
      ["a", "a"],
      ["b", "c"],
      ["aa", "a"],
      ["bc", "d"],
    ]);
  });

  test("assigns documented ids", () => {
    assert.equal(smallTokenizer.eosId, 0);
    assert.equal(smallTokenizer.padId, 1);
    assert.equal(smallTokenizer.tokenToId(EOS_TOKEN), 0);
    assert.equal(smallTokenizer.tokenToId(PAD_TOKEN), 1);
    assert.equal(smallTokenizer.idToToken(2), BYTE_TO_CHAR[0]);
    assert.equal(smallTokenizer.idToToken(2 + 255), BYTE_TO_CHAR[255]);
    const [left, right] = smallTokenizer.merges[0] ?? ["", ""];
    assert.equal(smallTokenizer.idToToken(258), left + right);
    assert.equal(smallTokenizer.vocabSize, 500);
    assert.equal(smallTokenizer.idToToken(500), undefined);
    assert.equal(smallTokenizer.tokenToId("no such token"), undefined);
  });

  test("ignores special tokens in training text", () => {
    const tokenizer = trainBpe([`${EOS_TOKEN}${EOS_TOKEN}${EOS_TOKEN}xy`], {
      vocabSize: 300,
      specialTokens: DEFAULT_SPECIAL_TOKENS,
      minFrequency: 1,
    });
    assert.deepEqual(mergesOf(tokenizer), [["x", "y"]]);
  });

  test("matches brute-force reference trainer", () => {
    const random = seededRandom(7);
    const alphabet = ["a", "b", "c", "ab", " ", " ", "\n", "é", "x1", "'s", "!"];
    for (let trial = 0; trial < 6; trial++) {
      const texts: string[] = [];
      for (let t = 0; t < 40; t++) {
        let text = "";
        const length = 1 + Math.floor(random() * 30);
        for (let i = 0; i < length; i++) {
          text += alphabet[Math.floor(random() * alphabet.length)] as string;
        }
        texts.push(text);
      }
      const minFrequency = 1 + (trial % 3);
      const tokenizer = trainBpe(texts, { vocabSize: 2 + 256 + 120, specialTokens: DEFAULT_SPECIAL_TOKENS, minFrequency });
      assert.deepEqual(mergesOf(tokenizer), referenceMerges(texts, 256 + 120, minFrequency), `trial ${trial}`);
    }
  });

  test("ignores text order", () => {
    const texts = syntheticCorpus();
    const reversed = trainBpe([...texts].reverse(), { vocabSize: 500, specialTokens: DEFAULT_SPECIAL_TOKENS });
    assert.equal(reversed.toHuggingFaceJson(), smallTokenizer.toHuggingFaceJson());
  });

  test("rejects invalid options", () => {
    assert.throws(() => trainBpe(["x"], { vocabSize: 257, specialTokens: DEFAULT_SPECIAL_TOKENS }), RangeError);
    assert.throws(() => trainBpe(["x"], { vocabSize: 300.5, specialTokens: DEFAULT_SPECIAL_TOKENS }), RangeError);
    assert.throws(() => trainBpe(["x"], { vocabSize: 300, specialTokens: DEFAULT_SPECIAL_TOKENS, minFrequency: 0 }), RangeError);
    assert.throws(() => trainBpe(["x"], { vocabSize: 300, specialTokens: [EOS_TOKEN] }), /<\|pad\|>/);
    assert.throws(() => trainBpe(["x"], { vocabSize: 300, specialTokens: [EOS_TOKEN, PAD_TOKEN, EOS_TOKEN] }), /duplicate/);
  });
});

describe("Tokenizer encode and decode", () => {
  test("round-trips tricky strings", () => {
    for (const text of TRICKY_STRINGS) {
      assert.equal(smallTokenizer.decode(smallTokenizer.encode(text)), text, JSON.stringify(text.slice(0, 80)));
      const withSpecials = smallTokenizer.encode(text, { allowSpecial: true });
      assert.equal(smallTokenizer.decode(withSpecials), text, JSON.stringify(text.slice(0, 80)));
    }
  });

  test("encodes empty text as no ids", () => {
    assert.deepEqual(smallTokenizer.encode(""), []);
    assert.equal(smallTokenizer.decode([]), "");
  });

  test("uses learned merges", () => {
    const text = "This package contains the shared library";
    const ids = smallTokenizer.encode(text);
    assert.ok(ids.length < Buffer.byteLength(text) / 2, `${ids.length} ids for ${Buffer.byteLength(text)} bytes`);
  });

  test("matches special tokens only when allowed", () => {
    const text = `one${EOS_TOKEN}two${PAD_TOKEN}`;
    const plain = smallTokenizer.encode(text);
    assert.ok(!plain.includes(smallTokenizer.eosId));
    assert.ok(!plain.includes(smallTokenizer.padId));
    const special = smallTokenizer.encode(text, { allowSpecial: true });
    assert.deepEqual(special, [
      ...smallTokenizer.encode("one"),
      smallTokenizer.eosId,
      ...smallTokenizer.encode("two"),
      smallTokenizer.padId,
    ]);
  });

  test("decode skips specials on request", () => {
    const ids = smallTokenizer.encode(`a${EOS_TOKEN}b${PAD_TOKEN}`, { allowSpecial: true });
    assert.equal(smallTokenizer.decode(ids), `a${EOS_TOKEN}b${PAD_TOKEN}`);
    assert.equal(smallTokenizer.decode(ids, { skipSpecial: true }), "ab");
    assert.ok(smallTokenizer.isSpecialId(smallTokenizer.eosId));
    assert.ok(!smallTokenizer.isSpecialId(2));
  });

  test("decode rejects invalid ids", () => {
    for (const id of [500, 1_000_000, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => smallTokenizer.decode([5, id]),
        (error: unknown) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, new RegExp(`token id ${String(id).replace(".", "\\.")} `));
          assert.match(error.message, /vocabulary of 500 tokens/);
          return true;
        },
      );
    }
  });

  test("decodes a cut multi-byte character as U+FFFD", () => {
    const bytesOnly = trainBpe([], { vocabSize: 258, specialTokens: DEFAULT_SPECIAL_TOKENS });
    const ids = bytesOnly.encode("😀");
    assert.equal(ids.length, 4);
    assert.equal(bytesOnly.decode(ids.slice(0, 2)), "\ufffd");
    assert.equal(bytesOnly.decode(ids), "😀");
  });

  test("encodes very long words quickly", () => {
    const random = seededRandom(3);
    let word = "";
    for (let i = 0; i < 200_000; i++) {
      word += String.fromCharCode(97 + Math.floor(random() * 26));
    }
    const started = performance.now();
    const ids = smallTokenizer.encode(word);
    const elapsed = performance.now() - started;
    assert.equal(smallTokenizer.decode(ids), word);
    // The bound catches an encoder that rescans the word after every single merge, which is
    // quadratic in the word length. The heap-based encoder takes well under a second.
    assert.ok(elapsed < 5000, `encoding took ${elapsed.toFixed(0)} ms`);
  });

  test("cached and uncached encodes agree", () => {
    const text = syntheticCorpus().join("");
    const fresh = Tokenizer.fromHuggingFaceJson(smallTokenizer.toHuggingFaceJson());
    const first = fresh.encode(text);
    assert.deepEqual(fresh.encode(text), first);
    assert.deepEqual(smallTokenizer.encode(text), first);
  });
});

describe("tokenizer.json", () => {
  test("save and load give identical ids", () => {
    const path = join(temporaryRoot, "saved", "nested", "tokenizer.json");
    smallTokenizer.save(path);
    const loaded = Tokenizer.load(path);
    assert.equal(loaded.vocabSize, smallTokenizer.vocabSize);
    assert.deepEqual(loaded.merges, smallTokenizer.merges);
    for (const text of TRICKY_STRINGS) {
      assert.deepEqual(loaded.encode(text, { allowSpecial: true }), smallTokenizer.encode(text, { allowSpecial: true }));
    }
    assert.equal(loaded.toHuggingFaceJson(), readFileSync(path, "utf8"));
    assert.deepEqual(readdirSync(join(temporaryRoot, "saved", "nested")), ["tokenizer.json"]);
  });

  test("save replaces an existing file", () => {
    const path = join(temporaryRoot, "replace", "tokenizer.json");
    const other = trainBpe(["ab ab ab"], { vocabSize: 260, specialTokens: DEFAULT_SPECIAL_TOKENS });
    other.save(path);
    smallTokenizer.save(path);
    assert.equal(Tokenizer.load(path).vocabSize, 500);
  });

  test("writes the Hugging Face layout", () => {
    const file = JSON.parse(smallTokenizer.toHuggingFaceJson()) as Record<string, unknown>;
    const model = file["model"] as Record<string, unknown>;
    assert.equal(model["type"], "BPE");
    assert.equal(Object.keys(model["vocab"] as object).length, 500);
    assert.equal((model["merges"] as unknown[]).length, smallTokenizer.merges.length);
    assert.equal(file["normalizer"], null);
    assert.deepEqual(file["pre_tokenizer"], { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true });
    assert.equal((file["decoder"] as Record<string, unknown>)["type"], "ByteLevel");
    assert.deepEqual(
      (file["added_tokens"] as Array<Record<string, unknown>>).map((token) => [token["id"], token["content"], token["special"]]),
      [
        [0, EOS_TOKEN, true],
        [1, PAD_TOKEN, true],
      ],
    );
  });

  test("reads merges written as arrays", () => {
    const file = JSON.parse(smallTokenizer.toHuggingFaceJson()) as { model: { merges: string[] } };
    const arrays = { ...file, model: { ...file.model, merges: file.model.merges.map((merge) => merge.split(" ")) } };
    const loaded = Tokenizer.fromHuggingFaceJson(JSON.stringify(arrays));
    assert.deepEqual(loaded.merges, smallTokenizer.merges);
  });

  describe("malformed files", () => {
    const valid = (): Record<string, any> => JSON.parse(smallTokenizer.toHuggingFaceJson()) as Record<string, any>;
    const cases: Array<{ name: string; field: string; edit: (file: Record<string, any>) => unknown; message?: RegExp }> = [
      {
        name: "WordPiece model",
        field: "model.type",
        edit: (file) => (file["model"].type = "WordPiece"),
        message: /model\.type is "WordPiece"; clp reads only byte-level BPE tokenizers/,
      },
      { name: "missing model", field: "model", edit: (file) => delete file["model"] },
      { name: "vocab as array", field: "model.vocab", edit: (file) => (file["model"].vocab = []) },
      { name: "merges missing", field: "model.merges", edit: (file) => delete file["model"].merges },
      { name: "negative id", field: 'model.vocab["a"]', edit: (file) => (file["model"].vocab["a"] = -3) },
      { name: "duplicate id", field: 'model.vocab["b"]', edit: (file) => (file["model"].vocab["b"] = file["model"].vocab["a"]) },
      { name: "missing byte", field: "model.vocab", edit: (file) => delete file["model"].vocab["Ġ"], message: /byte 0x20/ },
      { name: "id gap", field: "model.vocab", edit: (file) => (file["model"].vocab["Ġ"] = 5000), message: /no token with id/ },
      { name: "unknown merge part", field: "model.merges[0]", edit: (file) => (file["model"].merges[0] = "Ġq zz") },
      { name: "three-part merge", field: "model.merges[1]", edit: (file) => (file["model"].merges[1] = "a b c") },
      { name: "repeated merge", field: "model.merges[2]", edit: (file) => (file["model"].merges[2] = file["model"].merges[0]) },
      { name: "dropout", field: "model.dropout", edit: (file) => (file["model"].dropout = 0.1) },
      { name: "subword prefix", field: "model.continuing_subword_prefix", edit: (file) => (file["model"].continuing_subword_prefix = "##") },
      { name: "byte fallback", field: "model.byte_fallback", edit: (file) => (file["model"].byte_fallback = true) },
      { name: "normalizer", field: "normalizer", edit: (file) => (file["normalizer"] = { type: "NFC" }) },
      { name: "metaspace pre-tokenizer", field: "pre_tokenizer", edit: (file) => (file["pre_tokenizer"] = { type: "Metaspace" }) },
      { name: "prefix space", field: "pre_tokenizer.add_prefix_space", edit: (file) => (file["pre_tokenizer"].add_prefix_space = true) },
      { name: "prefix space unset", field: "pre_tokenizer.add_prefix_space", edit: (file) => delete file["pre_tokenizer"].add_prefix_space },
      { name: "no regex", field: "pre_tokenizer.use_regex", edit: (file) => (file["pre_tokenizer"].use_regex = false) },
      { name: "wordpiece decoder", field: "decoder", edit: (file) => (file["decoder"] = { type: "WordPiece" }) },
      { name: "template post-processor", field: "post_processor", edit: (file) => (file["post_processor"] = { type: "TemplateProcessing" }) },
      { name: "added tokens object", field: "added_tokens", edit: (file) => (file["added_tokens"] = {}) },
      { name: "added token not special", field: "added_tokens[1].special", edit: (file) => (file["added_tokens"][1].special = false) },
      { name: "added token lstrip", field: "added_tokens[0].lstrip", edit: (file) => (file["added_tokens"][0].lstrip = true) },
      { name: "added token id mismatch", field: "added_tokens[1].id", edit: (file) => (file["added_tokens"][1].id = 7) },
      {
        name: "pad token missing",
        field: "added_tokens",
        edit: (file) => {
          delete file["model"].vocab[PAD_TOKEN];
          file["model"].vocab["<|reserved|>"] = 1;
          file["added_tokens"][1].content = "<|reserved|>";
        },
        message: /has no special token "<\|pad\|>"/,
      },
    ];

    for (const { name, field, edit, message } of cases) {
      test(`names ${field} for ${name}`, () => {
        const file = valid();
        edit(file);
        const path = join(temporaryRoot, "bad", `${name.replace(/\W+/g, "-")}.json`);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, JSON.stringify(file));
        assert.throws(
          () => Tokenizer.load(path),
          (error: unknown) => {
            assert.ok(error instanceof TokenizerFileError, String(error));
            assert.equal(error.field, field);
            assert.equal(error.source, path);
            assert.ok(error.message.startsWith(`${path}: ${field} `), error.message);
            if (message !== undefined) {
              assert.match(error.message, message);
            }
            return true;
          },
        );
      });
    }

    test("names the file for invalid JSON", () => {
      const path = join(temporaryRoot, "bad", "truncated.json");
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, smallTokenizer.toHuggingFaceJson().slice(0, 500));
      assert.throws(() => Tokenizer.load(path), (error: unknown) => {
        assert.ok(error instanceof TokenizerFileError);
        assert.ok(error.message.startsWith(`${path}: is not valid JSON (`), error.message);
        assert.equal(error.field, "");
        return true;
      });
    });

    test("uses the given source name", () => {
      assert.throws(() => Tokenizer.fromHuggingFaceJson("[]", "models/ref/tokenizer.json"), /^TokenizerFileError: models\/ref\/tokenizer\.json: /);
    });
  });
});

describe("Hugging Face JS loader", () => {
  test("agrees on tricky strings", () => {
    checkAgainstHuggingFace(smallTokenizer, [...TRICKY_STRINGS, ...syntheticCorpus()], "hf-small");
  });

  test("agrees on tie-heavy merges", () => {
    const tokenizer = trainBpe(["aaaa aaa aa a", "abababab ba ab", "  \n\n  \t"], {
      vocabSize: 300,
      specialTokens: DEFAULT_SPECIAL_TOKENS,
      minFrequency: 1,
    });
    checkAgainstHuggingFace(tokenizer, ["aaaaaaaaa", "ababababa", "a a a  aa", "bababab\n\n\n  \t\t"], "hf-ties");
  });
});

describe("Debian synopses slice", { skip: existsSync(SYNOPSES_TRAIN) ? false : `${SYNOPSES_TRAIN} not built` }, () => {
  // These tests check only properties that do not depend on the exact data, because the data is
  // rebuilt from Debian's archive and its contents change with each point release.
  const records = existsSync(SYNOPSES_TRAIN) ? readJsonLines(SYNOPSES_TRAIN, 4000) : [];
  const descriptions = records.map((record) => String(record["description"]));
  const training = descriptions.slice(0, 3000);
  const heldOut = descriptions.slice(3000);
  const tokenizer = existsSync(SYNOPSES_TRAIN)
    ? trainBpe(training, { vocabSize: 1000, specialTokens: DEFAULT_SPECIAL_TOKENS })
    : smallTokenizer;

  test("fills the vocabulary", () => {
    assert.equal(tokenizer.vocabSize, 1000);
    assert.equal(tokenizer.merges.length, 1000 - 2 - 256);
  });

  test("learns common English words", () => {
    for (const word of ["Ġthe", "Ġpackage", "Ġand"]) {
      assert.notEqual(tokenizer.tokenToId(word), undefined, word);
    }
  });

  test("round-trips held-out descriptions", () => {
    for (const text of heldOut) {
      assert.equal(tokenizer.decode(tokenizer.encode(text)), text);
    }
  });

  test("compresses held-out text", () => {
    let tokens = 0;
    let words = 0;
    let bytes = 0;
    for (const text of heldOut) {
      tokens += tokenizer.encode(text).length;
      words += text.split(/\s+/).filter((word) => word !== "").length;
      bytes += Buffer.byteLength(text);
    }
    // The Debian bookworm 12.15 data gives about 2.5 tokens per word and 2.6 bytes per token. The
    // bounds leave room for archive changes but fail if merges stop applying.
    assert.ok(tokens / words < 3.5, `${(tokens / words).toFixed(2)} tokens per word`);
    assert.ok(bytes / tokens > 2, `${(bytes / tokens).toFixed(2)} bytes per token`);
  });

  test("agrees with Hugging Face", () => {
    checkAgainstHuggingFace(tokenizer, heldOut.slice(0, 300), "hf-debian");
  });
});
