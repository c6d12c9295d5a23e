/**
 * Maximum-likelihood training of the GPT: pretraining on a packed token stream, and supervised
 * finetuning on (prompt, completion) pairs with the loss on completion tokens only.
 */
import * as torch from "../torch/index.js";
import { AdamW, Tensor, tidy } from "../torch/index.js";
import type { Gpt } from "../model/gpt.js";
import { Rng } from "../util/rng.js";
import { JsonlWriter } from "../util/jsonl.js";
import { ProgressBar } from "../util/progress.js";
import { cosineLr } from "./schedule.js";

/** Optimisation settings shared by pretraining and finetuning. */
export interface LmTrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  gradClip: number;
  seed: number;
  /** Evaluates the validation loss every this many steps (and at the end). */
  evalEvery: number;
  metricsPath?: string;
  progressLabel?: string;
  quiet?: boolean;
}

/** One supervised example: the loss covers `completion` only. */
export interface SupervisedPair {
  prompt: number[];
  completion: number[];
}

/**
 * AdamW over the model's tensors named in `names` (default: all). Weight decay applies to matrices
 * only, never to biases, LayerNorm parameters or position embeddings. On a conditioned
 * parameter's deltas it follows the base parameter's rule, so it pulls the copies towards π_ref.
 */
export function makeOptimizer(model: Gpt, lr: number, weightDecay: number, names: readonly string[] = [...model.params.keys()]): AdamW {
  const entries = names.map((name) => {
    const base = name.replace(/\.(delta|lora_a|lora_b)$/, "");
    const baseRank = model.params.get(base)?.ndim ?? 0;
    return { name, param: model.params.get(name)!, weightDecay: baseRank >= 2 && base !== "wpe.weight" ? weightDecay : 0 };
  });
  return new AdamW(entries, { lr, beta1: 0.9, beta2: 0.95, eps: 1e-8 });
}

/**
 * Mean next-token cross-entropy of `inputs` → `targets` [B, T]; targets of -100 are ignored.
 * A conditioned model takes mixing weights `mix` [B, m].
 */
export function lmLoss(model: Gpt, inputs: number[][], targets: number[][], train: boolean, mix: Tensor | null = null): Tensor {
  const batch = inputs.length;
  const steps = inputs[0]!.length;
  const ids = torch.int64Tensor(inputs.flat(), [batch, steps]);
  const positions = torch.arange(0, steps).reshape(1, steps).expand(batch, steps);
  const logits = model.forward(ids, { positions, train, mix });
  const vocab = model.config.vocabSize;
  return torch.crossEntropy(logits.reshape(batch * steps, vocab), torch.int64Tensor(targets.flat(), [batch * steps]), {
    ignoreIndex: -100,
  });
}

/** Pads pairs into right-padded input/target rows with the loss masked outside the completion. */
export function collatePairs(pairs: readonly SupervisedPair[], padId: number, maxLength: number): { inputs: number[][]; targets: number[][] } {
  const seqs = pairs.map((p) => [...p.prompt, ...p.completion].slice(0, maxLength + 1));
  const length = Math.max(...seqs.map((s) => s.length)) - 1;
  const inputs: number[][] = [];
  const targets: number[][] = [];
  pairs.forEach((p, i) => {
    const s = seqs[i]!;
    const input = new Array<number>(length).fill(padId);
    const target = new Array<number>(length).fill(-100);
    for (let t = 0; t < s.length - 1; t++) {
      input[t] = s[t]!;
      // Position t predicts token t + 1, which is part of the completion when t + 1 ≥ |prompt|.
      if (t + 1 >= p.prompt.length) target[t] = s[t + 1]!;
    }
    inputs.push(input);
    targets.push(target);
  });
  return { inputs, targets };
}

function runLoop(
  model: Gpt,
  options: LmTrainOptions,
  nextBatch: (rng: Rng) => { inputs: number[][]; targets: number[][] },
  evaluate: () => number,
): { finalValLoss: number; history: { step: number; valLoss: number }[] } {
  const rng = new Rng(options.seed);
  torch.manualSeed(options.seed);
  model.requiresGrad_(true);
  const optimizer = makeOptimizer(model, options.lr, options.weightDecay);
  const log = options.metricsPath ? new JsonlWriter(options.metricsPath) : null;
  const bar = new ProgressBar(options.progressLabel ?? "train", options.steps, process.stderr, !options.quiet);
  const history: { step: number; valLoss: number }[] = [];
  const started = Date.now();
  let valLoss = Number.NaN;
  try {
    for (let step = 0; step < options.steps; step++) {
      optimizer.lr = cosineLr(step, options.steps, options.lr, options.warmupSteps, options.minLr);
      const batch = nextBatch(rng);
      const loss = tidy(() => {
        const l = lmLoss(model, batch.inputs, batch.targets, true);
        l.backward();
        return l.item();
      });
      const gradNorm = torch.clipGradNorm(model.parameters(), options.gradClip);
      if (Number.isFinite(gradNorm)) optimizer.step();
      optimizer.zeroGrad();
      const record: Record<string, unknown> = { step: step + 1, loss, lr: optimizer.lr, gradNorm, seconds: (Date.now() - started) / 1000 };
      if ((step + 1) % options.evalEvery === 0 || step + 1 === options.steps) {
        valLoss = evaluate();
        history.push({ step: step + 1, valLoss });
        record.valLoss = valLoss;
      }
      log?.write(record);
      bar.update(step + 1, `loss ${loss.toFixed(3)}${Number.isFinite(valLoss) ? ` val ${valLoss.toFixed(3)}` : ""}`);
    }
  } finally {
    optimizer.dispose();
    model.requiresGrad_(false);
  }
  return { finalValLoss: valLoss, history };
}

/** Pretrains on random windows of a packed token stream. */
export function pretrain(
  model: Gpt,
  trainTokens: Int32Array,
  valTokens: Int32Array,
  options: LmTrainOptions & { seqLength: number; evalBatches: number },
): { finalValLoss: number; history: { step: number; valLoss: number }[] } {
  const window = options.seqLength + 1;
  if (trainTokens.length <= window) throw new RangeError(`pretrain: the corpus has only ${trainTokens.length} tokens`);
  const sample = (tokens: Int32Array, start: number) => {
    const w = Array.from(tokens.subarray(start, start + window));
    return { input: w.slice(0, -1), target: w.slice(1) };
  };
  const nextBatch = (rng: Rng) => {
    const rows = Array.from({ length: options.batchSize }, () => sample(trainTokens, rng.int(trainTokens.length - window)));
    return { inputs: rows.map((r) => r.input), targets: rows.map((r) => r.target) };
  };
  // A fixed set of evenly spaced validation windows, so every evaluation scores the same text.
  const evalRows = options.evalBatches * options.batchSize;
  const stride = Math.max(1, Math.floor((valTokens.length - window) / evalRows));
  const evaluate = () =>
    meanLoss(model, Array.from({ length: evalRows }, (_, i) => sample(valTokens, Math.min(i * stride, valTokens.length - window - 1))), options.batchSize);
  return runLoop(model, options, nextBatch, evaluate);
}

function meanLoss(model: Gpt, rows: { input: number[]; target: number[] }[], batchSize: number): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const chunk = rows.slice(i, i + batchSize);
    const tokens = chunk.reduce((n, r) => n + r.target.filter((t) => t !== -100).length, 0);
    const loss = tidy(() => torch.noGrad(() => lmLoss(model, chunk.map((r) => r.input), chunk.map((r) => r.target), false).item()));
    total += loss * tokens;
    count += tokens;
  }
  return total / Math.max(1, count);
}

/** Supervised finetuning on (prompt, completion) pairs; validation loss is per completion token. */
export function finetune(
  model: Gpt,
  train: readonly SupervisedPair[],
  validation: readonly SupervisedPair[],
  options: LmTrainOptions & { padId: number },
): { finalValLoss: number; history: { step: number; valLoss: number }[] } {
  const maxLength = model.config.contextLength;
  const order: number[] = [];
  const nextBatch = (rng: Rng) => {
    const picked: SupervisedPair[] = [];
    for (let i = 0; i < options.batchSize; i++) {
      if (order.length === 0) order.push(...rng.shuffle(train.map((_, j) => j)));
      picked.push(train[order.pop()!]!);
    }
    return collatePairs(picked, options.padId, maxLength);
  };
  const evaluate = () => {
    const rows: { input: number[]; target: number[] }[] = [];
    for (let i = 0; i < validation.length; i += options.batchSize) {
      const { inputs, targets } = collatePairs(validation.slice(i, i + options.batchSize), options.padId, maxLength);
      inputs.forEach((input, j) => rows.push({ input, target: targets[j]! }));
    }
    // Rows of one collated chunk share a length, so chunks are re-formed with the same boundaries.
    return meanLoss(model, rows, options.batchSize);
  };
  return runLoop(model, options, nextBatch, evaluate);
}
