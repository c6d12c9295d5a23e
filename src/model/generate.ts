/**
 * Batched autoregressive sampling. Prompts of different lengths are left-padded. Each row draws
 * from its own seeded generator, so a prompt generates the same tokens alone or inside any batch.
 */
import * as torch from "../torch/index.js";
import { Tensor, tidy } from "../torch/index.js";
import { Rng } from "../util/rng.js";
import type { CausalLM } from "./gpt.js";

/** Decoding settings. */
export interface SamplingOptions {
  maxNewTokens: number;
  /** Softmax temperature; the logits are divided by it. Ignored when greedy. */
  temperature?: number;
  /** Keeps only the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Picks the most likely token at every step. */
  greedy?: boolean;
  eosId: number;
  padId: number;
  /** One seed per prompt: the row's own random stream. */
  seeds: readonly number[];
  /** Reuses past keys and values (default true); false recomputes the whole prefix each step. */
  useCache?: boolean;
}

/** Sampled continuations. */
export interface Generation {
  /** New tokens per prompt, ending with eosId when the row finished before maxNewTokens. */
  tokens: number[][];
  /** log π(token | prefix) of each sampled token under the tempered (and top-k) distribution. */
  logProbs: number[][];
  /** True when the row emitted eosId. */
  finished: boolean[];
  /**
   * The cap on new tokens that applied: options.maxNewTokens, or less when the longest prompt left
   * less room in the model's context.
   */
  maxNewTokens: number;
}

/**
 * Samples continuations of `prompts` (token ids). `mix` gives each row's mixing weights [B][m] for a
 * conditioned model or a mixture; a plain model takes null.
 */
export function generate(model: CausalLM, prompts: readonly number[][], mix: readonly number[][] | null, options: SamplingOptions): Generation {
  const batch = prompts.length;
  if (options.seeds.length !== batch) {
    throw new RangeError(`generate: ${batch} prompts but ${options.seeds.length} seeds`);
  }
  for (const [i, p] of prompts.entries()) {
    if (p.length === 0) throw new RangeError(`generate: prompt ${i} is empty`);
  }
  const maxPrompt = Math.max(...prompts.map((p) => p.length));
  const room = model.config.contextLength - maxPrompt;
  const maxNew = Math.min(options.maxNewTokens, room);
  if (maxNew < 1) {
    throw new RangeError(`generate: the longest prompt has ${maxPrompt} tokens, leaving no room in contextLength ${model.config.contextLength}`);
  }
  const rngs = options.seeds.map((s) => new Rng(s));
  const out: Generation = {
    tokens: prompts.map(() => []),
    logProbs: prompts.map(() => []),
    finished: prompts.map(() => false),
    maxNewTokens: maxNew,
  };
  const useCache = options.useCache ?? true;
  const cache = useCache ? model.newCache() : null;
  const mixTensor = mix === null ? null : torch.keep(torch.tensor(mix.map((r) => [...r])));

  // Left-padded ids, positions and key mask for the prompt.
  const ids: number[][] = prompts.map((p) => [...new Array<number>(maxPrompt - p.length).fill(options.padId), ...p]);
  const positions: number[][] = prompts.map((p) => [...new Array<number>(maxPrompt - p.length).fill(0), ...p.map((_, j) => j)]);
  const real: boolean[][] = prompts.map((p) => [...new Array<boolean>(maxPrompt - p.length).fill(false), ...p.map(() => true)]);

  try {
    for (let step = 0; step < maxNew; step++) {
      const logits = tidy(() => {
        return torch.noGrad(() => {
          const from = useCache && step > 0 ? ids[0]!.length - 1 : 0;
          const slice = <T>(rows: T[][]): T[][] => rows.map((r) => r.slice(from));
          const idT = int64(slice(ids));
          const posT = int64(slice(positions));
          const keyMask = torch.tensor(real.map((r) => r.map(Number)), "bool");
          const l = model.forward(idT, { positions: posT, keyMask, cache, mix: mixTensor, lastOnly: true });
          return l.reshape(batch, -1).toFloat32Array();
        });
      });
      const vocab = logits.length / batch;
      let allDone = true;
      for (let b = 0; b < batch; b++) {
        let token = options.padId;
        if (!out.finished[b]) {
          const row = logits.subarray(b * vocab, (b + 1) * vocab);
          const [t, lp] = pick(row, rngs[b]!, options);
          token = t;
          out.tokens[b]!.push(t);
          out.logProbs[b]!.push(lp);
          if (t === options.eosId) out.finished[b] = true;
        }
        const last = positions[b]![positions[b]!.length - 1]!;
        ids[b]!.push(token);
        positions[b]!.push(last + 1);
        real[b]!.push(true);
        if (!out.finished[b]) allDone = false;
      }
      if (allDone) break;
    }
  } finally {
    cache?.dispose();
    mixTensor?.dispose();
  }
  return out;
}

function int64(rows: number[][]): Tensor {
  return torch.int64Tensor(rows.flat(), [rows.length, rows[0]?.length ?? 0]);
}

/** Draws one token from a row of logits; returns the token and its log-probability. */
function pick(logits: Float32Array, rng: Rng, options: SamplingOptions): [number, number] {
  const n = logits.length;
  if (options.greedy) {
    let best = 0;
    for (let i = 1; i < n; i++) if (logits[i]! > logits[best]!) best = i;
    return [best, logProbAt(logits, best, 1, null)];
  }
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new RangeError(`temperature must be positive, got ${temperature}`);
  let allowed: Uint8Array | null = null;
  const k = options.topK ?? 0;
  if (k > 0 && k < n) {
    const threshold = Float32Array.from(logits).sort()[n - k]!;
    allowed = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (logits[i]! >= threshold) allowed[i] = 1;
  }
  let max = -Infinity;
  for (let i = 0; i < n; i++) if ((allowed === null || allowed[i]) && logits[i]! > max) max = logits[i]!;
  const probs = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (allowed !== null && !allowed[i]) continue;
    const p = Math.exp((logits[i]! - max) / temperature);
    probs[i] = p;
    total += p;
  }
  const u = rng.next() * total;
  let acc = 0;
  let token = n - 1;
  for (let i = 0; i < n; i++) {
    acc += probs[i]!;
    if (u < acc) {
      token = i;
      break;
    }
  }
  while (probs[token] === 0 && token > 0) token--;
  return [token, Math.log(probs[token]! / total)];
}

function logProbAt(logits: Float32Array, index: number, temperature: number, allowed: Uint8Array | null): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if ((allowed === null || allowed[i]) && logits[i]! > max) max = logits[i]!;
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    if (allowed === null || allowed[i]) total += Math.exp((logits[i]! - max) / temperature);
  }
  return (logits[index]! - max) / temperature - Math.log(total);
}
