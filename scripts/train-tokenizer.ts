// Trains clp's byte-level BPE tokenizer on the pretraining corpus, optionally with the synopses of
// the training split, and writes it as a Hugging Face tokenizer.json.
//
//   node dist/scripts/train-tokenizer.js --corpus data/pretrain/descriptions.txt.gz \
//     --synopses data/debian-synopses/train.jsonl.gz --vocab-size 4096 --out models/ref/tokenizer.json

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";

import { DEFAULT_SPECIAL_TOKENS, EOS_TOKEN, trainBpe } from "../src/tokenizer/bpe.js";

const HELP = `Usage: node dist/scripts/train-tokenizer.js [options]

Trains a byte-level BPE tokenizer and writes it as a Hugging Face tokenizer.json.

Options:
  --corpus FILE         gzip'd text, one document after another, each ended by a line
                        "${EOS_TOKEN}" (default: data/pretrain/descriptions.txt.gz)
  --synopses FILE       gzip'd JSON lines whose "synopsis" fields are added as extra documents;
                        pass only the training split, so that held-out synopses stay unseen
  --vocab-size N        vocabulary size, counting ${DEFAULT_SPECIAL_TOKENS.length} special tokens and 256 byte tokens (default: 4096)
  --min-frequency N     minimum count of a pair to be merged (default: 2)
  --out FILE            output tokenizer.json (default: models/ref/tokenizer.json)
  -h, --help            print this help
`;

/** Reads a gzip'd corpus and splits it into documents at lines that hold only the end-of-text token. */
function readCorpus(path: string): string[] {
  const text = gunzipSync(readFileSync(path)).toString("utf8");
  const documents: string[] = [];
  let lines: string[] = [];
  for (const line of text.split("\n")) {
    if (line === EOS_TOKEN) {
      documents.push(lines.join("\n"));
      lines = [];
    } else {
      lines.push(line);
    }
  }
  // Text after the last separator is a final document without one, unless it is only the
  // empty string left by the file's closing newline.
  const rest = lines.join("\n");
  if (rest !== "") {
    documents.push(rest);
  }
  return documents;
}

/** Reads the "synopsis" field of every line of a gzip'd JSON-lines file. */
function readSynopses(path: string): string[] {
  const text = gunzipSync(readFileSync(path)).toString("utf8");
  const synopses: string[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") {
      return;
    }
    const record: unknown = JSON.parse(line);
    const synopsis = (record as { synopsis?: unknown }).synopsis;
    if (typeof synopsis !== "string") {
      throw new Error(`${path}:${index + 1}: field "synopsis" is ${JSON.stringify(synopsis)}; expected a string`);
    }
    synopses.push(synopsis);
  });
  return synopses;
}

function parsePositiveInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) {
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      corpus: { type: "string", default: "data/pretrain/descriptions.txt.gz" },
      synopses: { type: "string" },
      "vocab-size": { type: "string", default: "4096" },
      "min-frequency": { type: "string", default: "2" },
      out: { type: "string", default: "models/ref/tokenizer.json" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const vocabSize = parsePositiveInteger("vocab-size", values["vocab-size"] as string);
  const minFrequency = parsePositiveInteger("min-frequency", values["min-frequency"] as string);
  const corpusPath = values.corpus as string;
  const outPath = values.out as string;

  let started = performance.now();
  const documents = readCorpus(corpusPath);
  const synopses = values.synopses === undefined ? [] : readSynopses(values.synopses);
  const corpusBytes = documents.reduce((sum, document) => sum + Buffer.byteLength(document), 0);
  console.log(
    `read ${documents.length} documents (${(corpusBytes / 1e6).toFixed(1)} MB) and ${synopses.length} synopses in ${seconds(started)}`,
  );

  started = performance.now();
  const tokenizer = trainBpe([...documents, ...synopses], {
    vocabSize,
    specialTokens: DEFAULT_SPECIAL_TOKENS,
    minFrequency,
  });
  console.log(`trained ${tokenizer.vocabSize} tokens (${tokenizer.merges.length} merges) in ${seconds(started)}`);
  if (tokenizer.vocabSize < vocabSize) {
    console.log(`note: no pair occurs ${minFrequency} or more times beyond ${tokenizer.vocabSize} tokens`);
  }

  tokenizer.save(outPath);
  console.log(`wrote ${outPath}`);

  // Two passes over the corpus: the first fills the word cache, the second shows the speed of a
  // tokenizer that has seen most words.
  let tokens = 0;
  let words = 0;
  for (const pass of ["first", "second"]) {
    started = performance.now();
    tokens = 0;
    for (const document of documents) {
      tokens += tokenizer.encode(document).length;
    }
    const elapsed = (performance.now() - started) / 1000;
    console.log(
      `encoded the corpus (${pass} pass) in ${elapsed.toFixed(1)} s: ${Math.round(tokens / elapsed)} tokens/s, ${(corpusBytes / 1e6 / elapsed).toFixed(1)} MB/s`,
    );
  }
  for (const document of documents) {
    words += document.split(/\s+/).filter((word) => word !== "").length;
  }
  console.log(
    `corpus: ${tokens} tokens, ${words} whitespace-separated words, ${(tokens / words).toFixed(3)} tokens per word, ${(corpusBytes / tokens).toFixed(2)} bytes per token`,
  );
}

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

main();
