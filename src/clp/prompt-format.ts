/**
 * Prompt conditioning: the steering inputs written into the prompt as text, in one fixed format
 * ("clp-steer/1"), on lines of their own between the description and "\nTL;DR:":
 *
 *   weights: 0.30 0.70\n        one weight per objective, in the policy's objective order, 2 decimals
 *   kl: 0.0500\n                the KL coefficient α, 3 significant digits (KL-steerable policies)
 *
 * The policy reads w rounded to 2 decimals; parameter-space mixing, when present, uses w exactly.
 */

/** Name of the format recorded in checkpoints. */
export const PROMPT_FORMAT = "clp-steer/1";

/** Fields of the steering text; a null field is left out. */
export interface SteeringText {
  weights: readonly number[] | null;
  kl: number | null;
}

/** Thrown when steering text does not follow the format. */
export class PromptFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PromptFormatError";
  }
}

/** Writes the steering lines; empty when both fields are null. */
export function formatSteeringText({ weights, kl }: SteeringText): string {
  let text = "";
  if (weights !== null) text += `weights: ${weights.map((w) => w.toFixed(2)).join(" ")}\n`;
  if (kl !== null) {
    if (!(kl > 0) || !Number.isFinite(kl)) throw new PromptFormatError(`kl ${kl} cannot be written into a prompt; it must be a finite number > 0`);
    text += `kl: ${kl.toPrecision(3)}\n`;
  }
  return text;
}

/** Reads steering lines back: their fields and the text after them. */
export function parseSteeringText(text: string): SteeringText & { rest: string } {
  let rest = text;
  let weights: number[] | null = null;
  let kl: number | null = null;
  const weightLine = /^weights:((?: \d+\.\d\d)+)\n/.exec(rest);
  if (weightLine) {
    weights = weightLine[1]!.trim().split(" ").map(Number);
    rest = rest.slice(weightLine[0].length);
  }
  const klLine = /^kl: (\S+)\n/.exec(rest);
  if (klLine) {
    kl = Number(klLine[1]);
    if (!(kl > 0) || !Number.isFinite(kl)) throw new PromptFormatError(`steering text "kl: ${klLine[1]}" is not a positive number`);
    rest = rest.slice(klLine[0].length);
  }
  return { weights, kl, rest };
}
