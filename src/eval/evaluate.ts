/**
 * Evaluation of a steerable policy over a grid of weight vectors. Every w gets the same test prompts
 * and the same per-sample random streams, so differences between weights are not sampling noise.
 * The result per w is each objective's mean with its standard error, and the sequence KL to π_ref.
 */
import * as torch from "../torch/index.js";
import { tidy } from "../torch/index.js";
import type { ClpPolicy } from "../clp/policy.js";
import type { SummaryExample } from "../data/dataset.js";
import { generate } from "../model/generate.js";
import type { Gpt } from "../model/gpt.js";
import type { RewardFunction } from "../rewards/index.js";
import { scoreSummaries } from "../rl/clp-trainer.js";
import { completionLogProbs, packBatch } from "../rl/sequences.js";
import { mean, standardError } from "../rl/stats.js";
import { decodeSummary, promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { mixSeed } from "../util/rng.js";
import { ProgressBar } from "../util/progress.js";

/** Decoding and sample budget of an evaluation; recorded with the results. */
export interface EvalSettings {
  prompts: number;
  samplesPerPrompt: number;
  maxNewTokens: number;
  temperature: number;
  seed: number;
  maxSourceTokens: number;
  batchSize: number;
}

/** Results at one weight vector (or for π_ref, with empty weights). */
export interface WeightResult {
  weights: number[];
  means: number[];
  stderrs: number[];
  kl: number;
  klStderr: number;
  meanLength: number;
  samples: { source: string; summary: string }[];
}

/**
 * Samples `model` (a plain, merged GPT) on the examples and scores the summaries. KL is the mean
 * over samples of Σₜ log π − log π_ref on the sampled tokens, an unbiased estimate of KL(π‖π_ref).
 */
export function evaluateModel(
  model: Gpt,
  reference: Gpt,
  tokenizer: Tokenizer,
  examples: readonly SummaryExample[],
  rewards: readonly RewardFunction[],
  settings: EvalSettings,
  weights: number[],
): WeightResult {
  const rows: { example: SummaryExample; seed: number }[] = [];
  examples.forEach((example, i) => {
    for (let s = 0; s < settings.samplesPerPrompt; s++) rows.push({ example, seed: mixSeed(settings.seed, i, s) });
  });
  const scores: number[][] = [];
  const kls: number[] = [];
  const lengths: number[] = [];
  const samples: { source: string; summary: string }[] = [];
  for (let start = 0; start < rows.length; start += settings.batchSize) {
    const chunk = rows.slice(start, start + settings.batchSize);
    const prompts = chunk.map((r) => promptIds(tokenizer, r.example.description, settings.maxSourceTokens));
    const generation = generate(model, prompts, null, {
      maxNewTokens: settings.maxNewTokens,
      temperature: settings.temperature,
      eosId: tokenizer.eosId,
      padId: tokenizer.padId,
      seeds: chunk.map((r) => r.seed),
    });
    const summaries = generation.tokens.map((t) => decodeSummary(tokenizer, t));
    scores.push(...scoreSummaries(rewards, chunk.map((r) => r.example), summaries));
    lengths.push(...summaries.map((s) => (s.match(/\S+/g) ?? []).length));
    const kl = tidy(() =>
      torch.noGrad(() => {
        const packed = packBatch(prompts, generation.tokens, tokenizer.padId);
        const options = { temperature: settings.temperature };
        const logp = completionLogProbs(model, packed, null, options);
        const refLogp = completionLogProbs(reference, packed, null, options);
        return logp.sub(refLogp).sum(1).toArray();
      }),
    );
    kls.push(...kl);
    for (let i = 0; i < chunk.length && samples.length < 3; i++) {
      samples.push({ source: chunk[i]!.example.description, summary: summaries[i]! });
    }
  }
  const columns = rewards.map((_, j) => scores.map((r) => r[j]!));
  return {
    weights,
    means: columns.map(mean),
    stderrs: columns.map(standardError),
    kl: mean(kls),
    klStderr: standardError(kls),
    meanLength: mean(lengths),
    samples,
  };
}

/** Evaluates π_ref and the policy merged at each grid weight. */
export function evaluateFront(
  policy: ClpPolicy,
  reference: Gpt,
  examples: readonly SummaryExample[],
  rewards: readonly RewardFunction[],
  grid: readonly number[][],
  settings: EvalSettings,
  options: { quiet?: boolean; onPoint?: (result: WeightResult) => void } = {},
): { reference: WeightResult; points: WeightResult[] } {
  const bar = new ProgressBar("clp eval", grid.length + 1, process.stderr, !options.quiet);
  const referenceResult = evaluateModel(reference, reference, policy.tokenizer, examples, rewards, settings, []);
  bar.update(1, "π_ref");
  const points: WeightResult[] = [];
  grid.forEach((w, i) => {
    const merged = policy.model.merge(w);
    try {
      const result = evaluateModel(merged, reference, policy.tokenizer, examples, rewards, settings, [...w]);
      points.push(result);
      options.onPoint?.(result);
    } finally {
      merged.disposeMerged(policy.model);
    }
    bar.update(i + 2, `w=[${w.map((x) => x.toFixed(2)).join(",")}]`);
  });
  return { reference: referenceResult, points };
}
