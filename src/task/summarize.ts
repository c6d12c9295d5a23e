/**
 * The default task's text format: a package description followed by "\nTL;DR:" is the prompt, and
 * " <synopsis><|endoftext|>" the completion.
 */
import type { Tokenizer } from "../tokenizer/bpe.js";

/** Appended to every (possibly truncated) description to ask for a summary. */
export const PROMPT_SUFFIX = "\nTL;DR:";

/** Default cap on description tokens in a prompt, so prompt plus summary fit the context. */
export const DEFAULT_MAX_SOURCE_TOKENS = 192;

/**
 * Prompt ids: `prefix` (a steering prefix, or empty), the description's first `maxSourceTokens`
 * tokens, then the suffix.
 */
export function promptIds(tokenizer: Tokenizer, description: string, maxSourceTokens = DEFAULT_MAX_SOURCE_TOKENS, prefix = ""): number[] {
  const source = tokenizer.encode(description.trim()).slice(0, maxSourceTokens);
  const head = prefix === "" ? [] : tokenizer.encode(prefix);
  return [...head, ...source, ...tokenizer.encode(PROMPT_SUFFIX)];
}

/** Completion ids for supervised finetuning: a space, the synopsis, end of text. */
export function completionIds(tokenizer: Tokenizer, synopsis: string): number[] {
  return [...tokenizer.encode(` ${synopsis.trim()}`), tokenizer.eosId];
}

/** The summary text of generated ids: everything before end of text, trimmed. */
export function decodeSummary(tokenizer: Tokenizer, ids: readonly number[]): string {
  const end = ids.indexOf(tokenizer.eosId);
  const kept = end >= 0 ? ids.slice(0, end) : ids;
  return tokenizer.decode(kept.filter((id) => id !== tokenizer.padId)).trim();
}
