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
 * Prompt ids: the description's first `maxSourceTokens` tokens, then `steering` (lines of steering
 * text, or empty) on lines of its own, then the suffix. Steering text sits right before the
 * suffix, where the model starts to write, so the policy reads it next to its output.
 */
export function promptIds(tokenizer: Tokenizer, description: string, maxSourceTokens = DEFAULT_MAX_SOURCE_TOKENS, steering = ""): number[] {
  const source = tokenizer.encode(description.trim()).slice(0, maxSourceTokens);
  const lines = steering.replace(/\n+$/, "");
  const middle = lines === "" ? [] : tokenizer.encode(`\n${lines}`);
  return [...source, ...middle, ...tokenizer.encode(PROMPT_SUFFIX)];
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
