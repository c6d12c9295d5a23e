/**
 * Evaluation of a steerable policy over a grid of weight vectors. Every w gets the same test prompts
 * and the same per-sample random streams, so differences between weights are not sampling noise.
 * The result per w is each objective's mean with its standard error, and the sequence KL to π_ref.
 */
import * as torch from "../torch/index.js";
import { tidy } from "../torch/index.js";
import type { Steering, SteerablePolicy } from "../clp/steerable.js";
import type { SummaryExample } from "../data/dataset.js";
import { generate } from "../model/generate.js";
import type { CausalLM, Gpt } from "../model/gpt.js";
import { RewardScorer, scoreAll, summaryInputs, type RewardFunction, type RewardInput } from "../rewards/index.js";
import { completionLogProbs, packBatch } from "../rl/sequences.js";
import { mean, standardError } from "../rl/stats.js";
import { decodeSummary, promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { mixSeed } from "../util/rng.js";
import { ProgressBar } from "../util/progress.js";
import type { EvalCache } from "./cache.js";

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
  /** The KL coefficient α the policy was steered to, when it was given. */
  klCoef?: number;
  means: number[];
  stderrs: number[];
  /** Mean sequence KL(π‖π_ref) in nats, with its standard error. */
  kl: number;
  klStderr: number;
  meanLength: number;
  samples: { source: string; summary: string }[];
  /**
   * Per test prompt, in prompt order, the reward vector averaged over that prompt's samples: the
   * unit a paired bootstrap resamples when two methods are compared.
   */
  perPrompt: number[][];
}

/**
 * The rewards an evaluation scores with: the functions themselves, scored on this thread, or a
 * RewardScorer, which scores them under its time limit.
 */
export type EvalRewards = readonly RewardFunction[] | RewardScorer;

function rewardList(rewards: EvalRewards): readonly RewardFunction[] {
  return rewards instanceof RewardScorer ? rewards.rewards : rewards;
}

async function scoreRows(rewards: EvalRewards, inputs: RewardInput[]): Promise<number[][]> {
  return rewards instanceof RewardScorer ? rewards.scoreAll(inputs) : scoreAll(rewards, inputs);
}

/** A model to sample from, with its mixing weights and prompt builder. */
interface Sampler {
  model: CausalLM;
  mix: readonly number[] | null;
  prompt(description: string): number[];
}

/**
 * Samples from `sampler` on the examples and scores the summaries. KL is the mean over samples of
 * Σₜ log π − log π_ref on the sampled tokens, with π_ref reading the same prompt: an unbiased
 * estimate of KL(π‖π_ref).
 */
async function evaluateSampler(
  sampler: Sampler,
  reference: Gpt,
  tokenizer: Tokenizer,
  examples: readonly SummaryExample[],
  rewards: EvalRewards,
  settings: EvalSettings,
): Promise<Omit<WeightResult, "weights">> {
  const rows: { example: SummaryExample; prompt: number; seed: number }[] = [];
  examples.forEach((example, i) => {
    for (let s = 0; s < settings.samplesPerPrompt; s++) rows.push({ example, prompt: i, seed: mixSeed(settings.seed, i, s) });
  });
  const scores: number[][] = [];
  const kls: number[] = [];
  const lengths: number[] = [];
  const samples: { source: string; summary: string }[] = [];
  for (let start = 0; start < rows.length; start += settings.batchSize) {
    const chunk = rows.slice(start, start + settings.batchSize);
    const prompts = chunk.map((r) => sampler.prompt(r.example.description));
    const mixRows = sampler.mix === null ? null : chunk.map(() => [...sampler.mix!]);
    const generation = generate(sampler.model, prompts, mixRows, {
      maxNewTokens: settings.maxNewTokens,
      temperature: settings.temperature,
      eosId: tokenizer.eosId,
      padId: tokenizer.padId,
      seeds: chunk.map((r) => r.seed),
    });
    const summaries = generation.tokens.map((t) => decodeSummary(tokenizer, t));
    scores.push(...(await scoreRows(rewards, summaryInputs(chunk.map((r) => r.example), summaries))));
    lengths.push(...summaries.map((s) => (s.match(/\S+/g) ?? []).length));
    const kl = tidy(() =>
      torch.noGrad(() => {
        const packed = packBatch(prompts, generation.tokens, tokenizer.padId);
        const options = { temperature: settings.temperature };
        const mix = mixRows === null ? null : torch.tensor(mixRows);
        const logp = completionLogProbs(sampler.model, packed, mix, options);
        const refLogp = completionLogProbs(reference, packed, null, options);
        return logp.sub(refLogp).sum(1).toArray();
      }),
    );
    kls.push(...kl);
    for (let i = 0; i < chunk.length && samples.length < 3; i++) {
      samples.push({ source: chunk[i]!.example.description, summary: summaries[i]! });
    }
  }
  const objectives = rewardList(rewards);
  const perPrompt = examples.map(() => objectives.map(() => 0));
  scores.forEach((row, i) => row.forEach((value, j) => (perPrompt[rows[i]!.prompt]![j]! += value / settings.samplesPerPrompt)));
  const klPerPrompt = examples.map(() => 0);
  kls.forEach((value, i) => (klPerPrompt[rows[i]!.prompt]! += value / settings.samplesPerPrompt));
  // Samples of one prompt are correlated, so standard errors come from the per-prompt means. The
  // means are the same either way, because every prompt has the same sample count.
  const columns = objectives.map((_, j) => perPrompt.map((r) => r[j]!));
  return {
    perPrompt,
    means: columns.map(mean),
    stderrs: columns.map(standardError),
    kl: mean(klPerPrompt),
    klStderr: standardError(klPerPrompt),
    meanLength: mean(lengths),
    samples,
  };
}

/** Evaluates π_ref itself on the examples (weights []). */
export async function evaluateReference(
  reference: Gpt,
  tokenizer: Tokenizer,
  examples: readonly SummaryExample[],
  rewards: EvalRewards,
  settings: EvalSettings,
): Promise<WeightResult> {
  const sampler: Sampler = { model: reference, mix: null, prompt: (d) => promptIds(tokenizer, d, settings.maxSourceTokens) };
  return { weights: [], ...(await evaluateSampler(sampler, reference, tokenizer, examples, rewards, settings)) };
}

/** Evaluates a steerable policy at one steering input, decoding with merged weights. */
export async function evaluatePolicy(
  policy: SteerablePolicy,
  reference: Gpt,
  examples: readonly SummaryExample[],
  rewards: EvalRewards,
  settings: EvalSettings,
  steering: Steering,
): Promise<WeightResult> {
  policy.validateSteering(steering);
  const decoder = policy.decoder(steering);
  try {
    const sampler: Sampler = { model: decoder.model, mix: decoder.mix, prompt: (d) => policy.prompt(d, steering) };
    const result = await evaluateSampler(sampler, reference, policy.tokenizer, examples, rewards, settings);
    const out: WeightResult = { weights: [...steering.weights], ...result };
    if (steering.kl !== undefined && steering.kl !== null) out.klCoef = steering.kl;
    return out;
  } finally {
    decoder.dispose();
  }
}

/**
 * Evaluates π_ref and the policy at each grid weight (at KL coefficient `kl` when given). With a
 * cache, finished points are read back instead of evaluated again, and each new point is stored
 * as soon as it is done.
 */
export async function evaluateFront(
  policy: SteerablePolicy,
  reference: Gpt,
  examples: readonly SummaryExample[],
  rewards: EvalRewards,
  grid: readonly number[][],
  settings: EvalSettings,
  options: { quiet?: boolean; kl?: number | null; cache?: EvalCache | null } = {},
): Promise<{ reference: WeightResult; points: WeightResult[]; cachedPoints: number }> {
  const bar = new ProgressBar("clp eval", grid.length + 1, process.stderr, !options.quiet);
  const cache = options.cache ?? null;
  let cachedPoints = 0;
  const cached = async (key: Record<string, unknown>, compute: () => Promise<WeightResult>): Promise<WeightResult> => {
    const stored = cache?.get(key) ?? null;
    if (stored !== null) {
      cachedPoints++;
      return stored;
    }
    const result = await compute();
    cache?.set(key, result);
    return result;
  };
  const rewardNames = rewardList(rewards).map((r) => r.name);
  const referenceResult = await cached({ reference: true, rewardNames, settings }, () => evaluateReference(reference, policy.tokenizer, examples, rewards, settings));
  bar.update(1, "π_ref");
  const points: WeightResult[] = [];
  const kl = options.kl ?? null;
  for (const [i, w] of grid.entries()) {
    const steering = { weights: w, kl };
    points.push(await cached({ weights: w, kl, rewardNames, settings }, () => evaluatePolicy(policy, reference, examples, rewards, settings, steering)));
    bar.update(i + 2, `w=[${w.map((x) => x.toFixed(2)).join(",")}]`);
  }
  return { reference: referenceResult, points, cachedPoints };
}
