// The form reward: how well a summary follows Debian's conventions for a package synopsis.

import { isContentWord, tokenize } from "./text.js";
import type { RewardFunction, RewardInput } from "./types.js";

/**
 * Maximum synopsis length in characters. Debian Policy 3.4.1 wants a synopsis "certainly under 80
 * characters", and the check lets exactly 80 pass.
 */
export const SYNOPSIS_MAX_CHARS = 80;

/**
 * Words after which a synopsis cannot end, because they need a complement: articles,
 * prepositions and conjunctions. An output cut off at the token limit usually ends with one.
 */
const NEEDS_COMPLEMENT: ReadonlySet<string> = new Set([
  "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "than",
  "that", "the", "to", "via", "which", "with",
]);

/**
 * Length of a run of content words, without a function word or clause punctuation between them,
 * at which a summary counts as a keyword list. Such a run occurs in 0.4 % of the validation
 * split's human synopses, 1.3 % of 400 samples of π_ref, and every list of a validation
 * description's 10 most salient words (measured with scripts/reward-correlations.ts).
 */
export const KEYWORD_RUN_WORDS = 8;

/** Abbreviations whose full stop does not end a sentence. */
const ABBREVIATIONS: ReadonlySet<string> = new Set(["etc.", "e.g.", "i.e.", "vs.", "cf."]);

const ARTICLES: ReadonlySet<string> = new Set(["a", "an", "the"]);

/** Characters after which a synopsis is unfinished. */
const DANGLING_CHARS = "-/,:;(&|";

const OPENING_BRACKETS: Readonly<Record<string, string>> = { "(": ")", "[": "]", "{": "}" };
const CLOSING_BRACKETS: ReadonlySet<string> = new Set([")", "]", "}"]);

/**
 * Prompt and decoding leftovers: the prompt's "TL;DR" marker, the end-of-text token, a line break
 * or other control character, and U+FFFD, which decoding inserts for an incomplete UTF-8 sequence.
 */
const ARTIFACT_PATTERN = /tl;\s*dr|<\|endoftext\|>|[\p{Cc}\uFFFD]/iu;

/** Lowercases a whitespace-separated token and strips the punctuation around it. */
function bareWord(token: string): string {
  return token.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
}

function hasUnbalancedBrackets(text: string): boolean {
  const expected: string[] = [];
  for (const ch of text) {
    const closing = OPENING_BRACKETS[ch];
    if (closing !== undefined) {
      expected.push(closing);
    } else if (CLOSING_BRACKETS.has(ch) && expected.pop() !== ch) {
      return true;
    }
  }
  return expected.length > 0;
}

/**
 * Reports whether a whitespace-separated token continues a keyword run: it contains a letter or
 * digit, no comma, semicolon, colon or bracket, and is not a stopword.
 */
function continuesKeywordRun(token: string): boolean {
  if (/[,;:()[\]{}]/.test(token)) return false;
  const word = token.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
  return word !== "" && isContentWord(word);
}

function longestKeywordRun(tokens: readonly string[]): number {
  let longest = 0;
  let run = 0;
  for (const token of tokens) {
    run = continuesKeywordRun(token) ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

/**
 * Reports whether a token other than the last one ends a sentence: it ends in ".", "!" or "?" and
 * is not a listed abbreviation. It also needs two letters before the mark and no other dot, so
 * initials ("J.") and dotted names ("U.S.") do not count.
 */
function endsSentence(token: string): boolean {
  if (!/[.!?]$/.test(token) || ABBREVIATIONS.has(token.toLowerCase())) return false;
  const body = token.slice(0, -1);
  return !body.includes(".") && (body.match(/\p{L}/gu)?.length ?? 0) >= 2;
}

/** One synopsis convention, tested on the trimmed summary and its whitespace-separated tokens. */
export interface FormCheck {
  /** Short name of the fault the check detects, used in docs and tests. */
  fault: string;
  /** Returns true when the summary has the fault. */
  test(text: string, tokens: readonly string[]): boolean;
}

/**
 * The checks behind the form reward, each one fault. The sources are Debian Policy 3.4.1 (under
 * 80 characters), the Debian Developer's Reference 6.2.2 (a noun phrase without an initial
 * article and without a final full stop, not a complete sentence) and lintian's
 * description-too-short tag (a single word). A run of KEYWORD_RUN_WORDS content words is a keyword
 * list rather than a noun phrase. The last four checks detect broken output rather than broken
 * style.
 */
export const FORM_CHECKS: readonly FormCheck[] = [
  {
    fault: "single word",
    test: (text) => tokenize(text).length < 2,
  },
  {
    fault: "initial article",
    test: (_, tokens) => ARTICLES.has(bareWord(tokens[0] ?? "")),
  },
  {
    fault: "final full stop",
    test: (text, tokens) =>
      text.endsWith(".") && !ABBREVIATIONS.has((tokens.at(-1) ?? "").toLowerCase()),
  },
  {
    fault: "over 80 characters",
    test: (text) => [...text].length > SYNOPSIS_MAX_CHARS,
  },
  {
    fault: "complete sentence",
    test: (_, tokens) =>
      tokens.some((token) => /^(is|are|was|were)$/.test(bareWord(token))) ||
      tokens.slice(0, -1).some(endsSentence),
  },
  {
    fault: "keyword list",
    test: (_, tokens) => longestKeywordRun(tokens) >= KEYWORD_RUN_WORDS,
  },
  {
    fault: "unbalanced brackets",
    test: (text) => hasUnbalancedBrackets(text),
  },
  {
    fault: "unfinished ending",
    test: (text, tokens) => {
      const last = text.at(-1);
      if (last !== undefined && DANGLING_CHARS.includes(last)) return true;
      return NEEDS_COMPLEMENT.has(bareWord(tokens.at(-1) ?? ""));
    },
  },
  {
    fault: "repeated word",
    test: (_, tokens) => {
      const words = tokens.map(bareWord);
      return words.some((word, i) => i > 0 && word !== "" && word === words[i - 1]);
    },
  },
  {
    fault: "prompt or decoding leftover",
    test: (text) => ARTIFACT_PATTERN.test(text),
  },
];

/** Returns the faults (`FormCheck.fault`) that a summary has, in FORM_CHECKS order. */
export function formFaults(summary: string): string[] {
  const text = summary.trim();
  const tokens = text.split(/\s+/).filter((token) => token !== "");
  return FORM_CHECKS.filter((check) => check.test(text, tokens)).map((check) => check.fault);
}

/**
 * Creates the form reward: the share of the synopsis checks in FORM_CHECKS that the summary
 * passes. With C = FORM_CHECKS.length (10) and f the number of faults,
 *
 *   form = (C − f) / C,  in [0, 1], in steps of 1/10,
 *
 * and 0 for a summary without letters or digits, the empty one included.
 *
 * It favours a short noun phrase of two or more words, such as "fast JSON parser library", and
 * is flat among such phrases: it rewards neither copying nor length. It counters the degenerate
 * ends of the other objectives. Brevity alone drives towards one word. Coverage alone drives
 * towards a list of the description's salient words, or towards copying its first sentence
 * ("Foo is a …"), which is a sentence and often too long or cut off mid-phrase. It does not
 * detect invented words, which faithfulness penalises.
 */
export function createForm(name: string = "form"): RewardFunction {
  return {
    name,
    description:
      "Share of Debian synopsis conventions the summary follows: two or more words, no initial " +
      "article, no final full stop, at most 80 characters, not a sentence, not a keyword list, " +
      "balanced brackets, a finished ending, no word repeated in a row, no prompt or decoding " +
      "leftovers.",
    range: [0, 1],
    higherIsBetter: true,
    score({ summary }: RewardInput): number {
      if (tokenize(summary).length === 0) return 0;
      return (FORM_CHECKS.length - formFaults(summary).length) / FORM_CHECKS.length;
    },
  };
}

/** The form reward. */
export const form: RewardFunction = createForm();
