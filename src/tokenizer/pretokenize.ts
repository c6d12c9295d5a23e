// Pre-tokenization: the GPT-2 regex that cuts text into words before BPE, and the split of text
// around literal special tokens.

/**
 * GPT-2's pre-tokenizer pattern: English contractions, letter runs, digit runs and runs of other
 * symbols, each with at most one leading space, then whitespace. `\s+(?!\S)` leaves the last space
 * of a whitespace run to start the next word, so "a  b" splits into "a", " ", " b".
 *
 * NOTE: JavaScript's `\s` and `\p{…}` tables decide the splits. Hugging Face's JS loader uses this
 * same JavaScript pattern, but the Rust `tokenizers` crate compiles it with Oniguruma, whose
 * whitespace set may differ on a few rare code points, so its ids could differ on such text.
 */
export const GPT2_PRETOKENIZE_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * Splits text into GPT-2 pre-tokens. Every code unit of the text lands in exactly one pre-token,
 * so joining the result gives the text back.
 */
export function pretokenize(text: string): string[] {
  return text.match(GPT2_PRETOKENIZE_PATTERN) ?? [];
}

/** One piece of text between special tokens, or one special token. */
export interface TextSection {
  text: string;
  isSpecial: boolean;
}

/**
 * Builds a matcher for literal special tokens. At each position the longest special token wins,
 * because the alternatives are ordered longest first. Returns undefined when there are none.
 */
export function buildSpecialTokenPattern(specialTokens: readonly string[]): RegExp | undefined {
  if (specialTokens.length === 0) {
    return undefined;
  }
  const escaped = [...specialTokens]
    .sort((a, b) => b.length - a.length)
    .map((token) => token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(escaped.join("|"), "gu");
}

/**
 * Splits text at the leftmost-longest matches of a special-token pattern from
 * {@link buildSpecialTokenPattern}. Empty pieces between adjacent matches are left out.
 */
export function splitOnSpecialTokens(text: string, pattern: RegExp | undefined): TextSection[] {
  if (pattern === undefined) {
    return text.length === 0 ? [] : [{ text, isSpecial: false }];
  }
  const sections: TextSection[] = [];
  let start = 0;
  for (const match of text.matchAll(pattern)) {
    const index = match.index ?? 0;
    if (index > start) {
      sections.push({ text: text.slice(start, index), isSpecial: false });
    }
    sections.push({ text: match[0], isSpecial: true });
    start = index + match[0].length;
  }
  if (start < text.length) {
    sections.push({ text: text.slice(start), isSpecial: false });
  }
  return sections;
}
