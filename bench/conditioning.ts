/**
 * Parameter overhead and cost of every conditioning variant and baseline on the shipped π_ref
 * (models/ref): stored parameters, trainable parameters, time to merge at one w, decoding speed at
 * one w, and one mixed-batch training forward and backward.
 *
 *   node dist/bench/conditioning.js [--objectives 2]
 *
 * Prints a Markdown table. Timings are medians over repeats on the machine it runs on.
 */
import { parseArgs } from "node:util";
import * as torch from "../src/torch/index.js";
import { tidy } from "../src/torch/index.js";
import { trainsSharedParameters, type ConditioningVariant } from "../src/clp/conditioning.js";
import { ClpPolicy, type PolicyMetadata } from "../src/clp/policy.js";
import { PROMPT_FORMAT } from "../src/clp/prompt-format.js";
import type { SteerablePolicy } from "../src/clp/steerable.js";
import { RewardedSoupsPolicy } from "../src/baselines/rewarded-soups.js";
import { LogitMixingPolicy } from "../src/baselines/logit-mixing.js";
import { defaultTaskPaths, loadSplit } from "../src/data/dataset.js";
import { loadModelFolder } from "../src/model/checkpoint.js";
import { generate } from "../src/model/generate.js";
import type { CausalLM, Gpt } from "../src/model/gpt.js";
import { completionLogProbs, packBatch } from "../src/rl/sequences.js";
import { promptIds } from "../src/task/summarize.js";

const { values } = parseArgs({ options: { objectives: { type: "string", default: "2" } } });
const m = Number(values.objectives);
if (!Number.isInteger(m) || m < 2) throw new Error(`--objectives must be an integer ≥ 2, got ${values.objectives}`);
const objectives = Array.from({ length: m }, (_, i) => `objective${i + 1}`);

const { model: reference, tokenizer } = loadModelFolder("models/ref");
const examples = loadSplit(defaultTaskPaths().validation, { limit: 16 });

function metadata(variant: ConditioningVariant, fixedWeights: number[] | null = null): Omit<PolicyMetadata, "kind" | "step"> {
  return {
    objectives,
    variant,
    lora: variant === "lora" ? { rank: 4, alpha: 8, targets: ["q_proj", "k_proj", "v_proj", "o_proj"] } : null,
    promptFormat: variant === "none" && fixedWeights === null ? PROMPT_FORMAT : null,
    promptWeights: variant === "none" && fixedWeights === null,
    klRange: null,
    klCoef: 0.05,
    fixedWeights,
    maxSourceTokens: 96,
    normalizer: { objectives, means: objectives.map(() => 0), stds: objectives.map(() => 1), samples: 2 } as unknown as PolicyMetadata["normalizer"],
    reference: "models/ref",
    seed: 1,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, repeats: number): number {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(out);
}

const w = objectives.map(() => 1 / m);

/** Greedy decoding throughput: 20 new tokens for each prompt. */
function tokensPerSecond(model: CausalLM, mix: readonly number[] | null, prompts: number[][]): number {
  let tokens = 0;
  const ms = time(() => {
    const out = generate(model, prompts, mix === null ? null : prompts.map(() => [...mix]), {
      maxNewTokens: 20, greedy: true, eosId: -1, padId: tokenizer.padId, seeds: prompts.map((_, i) => i),
    });
    tokens = out.tokens.reduce((n, t) => n + t.length, 0);
  }, 3);
  return (tokens / ms) * 1000;
}

/** Merge time and decoding throughput at one w. */
function decodeCost(policy: SteerablePolicy): { mergeMs: number; tokensPerSecond: number } {
  const steering = { weights: w };
  const mergeMs = time(() => policy.decoder(steering).dispose(), 3);
  const decoder = policy.decoder(steering);
  const speed = tokensPerSecond(decoder.model, decoder.mix, examples.map((e) => policy.prompt(e.description, steering)));
  decoder.dispose();
  return { mergeMs, tokensPerSecond: speed };
}

/** Times one training forward and backward on 32 rows with per-row weights, as an RL step scores them. */
function trainStepMs(policy: ClpPolicy): number {
  const model = policy.model;
  const names = model.trainableNames(trainsSharedParameters(policy.metadata.variant));
  const tensors = names.map((n) => model.params.get(n)!);
  for (const t of tensors) t.requiresGrad_(true);
  const rowWeights = Array.from({ length: 32 }, (_, i) => objectives.map((_, j) => (j === i % m ? 0.7 : 0.3 / (m - 1))));
  const prompts = rowWeights.map((rw, i) => policy.prompt(examples[i % examples.length]!.description, { weights: rw }));
  const completions = prompts.map((_, i) => Array.from({ length: 16 }, (_, t) => 100 + ((i * 7 + t) % 500)));
  const ms = time(() => {
    tidy(() => {
      const packed = packBatch(prompts, completions, tokenizer.padId);
      const mix = policy.mixTensor(rowWeights);
      completionLogProbs(model, packed, mix).sum().backward();
    });
    for (const t of tensors) t.grad?.zero_();
  }, 3);
  for (const t of tensors) t.requiresGrad_(false);
  return ms;
}

function count(model: Gpt, names: string[]): number {
  return names.reduce((n, name) => n + model.params.get(name)!.numel, 0);
}

const rows: string[] = [];
const baseParams = reference.parameterCount();
const format = (n: number) => `${(n / 1e6).toFixed(2)} M`;
rows.push(`| method | stored parameters | × π_ref | trained parameters | merge at one w | decode (tokens/s) | train fwd+bwd, 32 rows |`);
rows.push(`|---|---|---|---|---|---|---|`);
{
  const speed = tokensPerSecond(reference, null, examples.map((e) => promptIds(tokenizer, e.description, 96)));
  rows.push(`| π_ref | ${format(baseParams)} | 1.00 | – | – | ${speed.toFixed(0)} | – |`);
}
for (const variant of ["full", "attn", "logit", "lora", "none"] as ConditioningVariant[]) {
  const policy = ClpPolicy.fromReference(reference, tokenizer, metadata(variant));
  const stored = policy.parameterCount();
  const trained = count(policy.model, policy.model.trainableNames(trainsSharedParameters(variant)));
  const cost = decodeCost(policy);
  const step = trainStepMs(policy);
  const label = variant === "none" ? "prompting only" : `${variant}-CLP`;
  rows.push(`| ${label} | ${format(stored)} | ${(stored / baseParams).toFixed(2)} | ${format(trained)} | ${cost.mergeMs.toFixed(1)} ms | ${cost.tokensPerSecond.toFixed(0)} | ${step.toFixed(0)} ms |`);
  policy.dispose();
}
{
  const experts = objectives.map((_, i) => ClpPolicy.fromReference(reference, tokenizer, metadata("none", objectives.map((_, j) => (i === j ? 1 : 0)))));
  const soups = new RewardedSoupsPolicy(experts);
  const soupCost = decodeCost(soups);
  rows.push(`| Rewarded Soups | ${format(soups.parameterCount())} | ${(soups.parameterCount() / baseParams).toFixed(2)} | ${format(baseParams)} per expert | ${soupCost.mergeMs.toFixed(1)} ms | ${soupCost.tokensPerSecond.toFixed(0)} | – |`);
  const mixing = new LogitMixingPolicy(experts);
  const mixCost = decodeCost(mixing);
  rows.push(`| logit mixing | ${format(mixing.parameterCount())} | ${(mixing.parameterCount() / baseParams).toFixed(2)} | ${format(baseParams)} per expert | – | ${mixCost.tokensPerSecond.toFixed(0)} | – |`);
  soups.dispose();
}
process.stdout.write(`m = ${m} objectives, libtorch ${torch.torchVersion()}\n\n${rows.join("\n")}\n`);
reference.dispose();
