// A light English suffix stripper for matching word variants ("parser", "parsing", "parses")
// inside the rewards. It is deliberately smaller than Porter's algorithm: it only has to map the
// inflections and common derivations seen in package descriptions to one shared key, and it may
// produce keys that are not words ("librari" never appears, "pars" does).

const VOWELS = new Set(["a", "e", "i", "o", "u", "y"]);

/** Minimum number of characters a stem keeps after a suffix is removed. */
const MIN_STEM = 3;

/**
 * Derivational and inflectional suffixes with their replacements, longest first. Each applies only
 * when the rest has at least MIN_STEM characters and contains a vowel, so "string" and "need" are
 * left alone. "ical" keeps "ic" so that "graphical" meets "graphics".
 */
const SUFFIXES: readonly (readonly [string, string])[] = [
  ["ation", ""],
  ["ition", ""],
  ["ment", ""],
  ["able", ""],
  ["ible", ""],
  ["ical", "ic"],
  ["ing", ""],
  ["ion", ""],
  ["ed", ""],
  ["er", ""],
];

/** Suffixes after which a doubled final consonant is undoubled ("mapping" → "mapp" → "map"). */
const UNDOUBLE_AFTER = new Set(["ing", "ed", "er"]);

/** Doubled letters that English keeps in the base word ("install", "process", "buzz"). */
const KEEP_DOUBLE = new Set(["l", "s", "z"]);

function hasVowel(text: string): boolean {
  for (const ch of text) {
    if (VOWELS.has(ch)) return true;
  }
  return false;
}

function stripPlural(word: string): string {
  if (word.endsWith("sses")) return word.slice(0, -2);
  if (word.endsWith("ies") && word.length > 4) return word.slice(0, -3) + "y";
  if (word.endsWith("s") && !/(ss|us|is)$/.test(word) && word.length - 1 >= MIN_STEM) {
    return word.slice(0, -1);
  }
  return word;
}

/** Replaces one suffix from SUFFIXES, or returns the word unchanged when none applies. */
function stripSuffix(word: string): string {
  for (const [suffix, replacement] of SUFFIXES) {
    if (!word.endsWith(suffix)) continue;
    const rest = word.slice(0, -suffix.length) + replacement;
    if (rest.length < MIN_STEM || !hasVowel(rest)) continue;
    const last = rest.at(-1);
    const doubled = last !== undefined && rest.at(-2) === last && !VOWELS.has(last);
    if (UNDOUBLE_AFTER.has(suffix) && doubled && !KEEP_DOUBLE.has(last)) {
      return rest.slice(0, -1);
    }
    return rest;
  }
  return word;
}

/**
 * Stems a lowercase word to a matching key. Steps: remove a plural ending, then remove suffixes
 * repeatedly until none applies (so "implementations", "implemented" and "implement" all reach
 * "impl"), then drop a final "e" ("parse" and "parsed" both give "pars"). Words shorter than four
 * characters and words containing digits are returned unchanged. The result is deterministic and
 * never empty for a non-empty input.
 */
export function stem(word: string): string {
  if (word.length < 4 || /\d/.test(word)) return word;
  let current = stripPlural(word);
  for (;;) {
    const next = stripSuffix(current);
    if (next === current) break;
    current = next;
  }
  if (current.endsWith("e") && current.length - 1 >= MIN_STEM) {
    current = current.slice(0, -1);
  }
  return current;
}
