// Measures the rewards on samples of the reference policy π_ref and on the human synopses of the
// validation split. It prints each reward's mean and standard deviation, the Pearson and Spearman
// correlation of every pair, and the scores of summaries built to sit at the ends of the
// trade-offs, as Markdown tables. docs/REWARDS.md records one run.
//
//   node dist/scripts/reward-correlations.js [--prompts 200] [--samples 2] [--seed 1]
//     [--rewards coverage,brevity,faithfulness,form] [--module my-reward.mjs ...]
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { defaultTaskPaths, loadSplit, type SummaryExample } from "../src/data/dataset.js";
import { loadModelFolder } from "../src/model/checkpoint.js";
import { generate } from "../src/model/generate.js";
import type { Gpt } from "../src/model/gpt.js";
import {
  FORM_CHECKS,
  formFaults,
  getReward,
  isContentWord,
  loadRewardModules,
  salientStems,
  scoreAll,
  stem,
  tokenize,
  type RewardFunction,
  type RewardInput,
} from "../src/rewards/index.js";
import { resolveReferencePath } from "../src/rl/run-context.js";
import { mean, pearson, spearman } from "../src/rl/stats.js";
import { decodeSummary, promptIds } from "../src/task/summarize.js";
import type { Tokenizer } from "../src/tokenizer/bpe.js";
import { mixSeed, Rng } from "../src/util/rng.js";

const USAGE = `usage: node dist/scripts/reward-correlations.js [options]

  --reference DIR          reference policy folder (default models/ref)
  --rewards A,B,...        rewards to measure (default coverage,brevity,faithfulness,form)
  --module PATH            reward module to load first; repeat for several
  --prompts N              training prompts sampled (default 200)
  --samples N              samples per prompt (default 2)
  --temperature T          sampling temperature (default 1)
  --max-source-tokens N    description tokens kept in a prompt (default 96)
  --max-new-tokens N       maximum summary length in tokens (default 20)
  --batch-size N           prompts per generate call (default 50)
  --seed N                 seed of the prompt choice and the sampling (default 1)`;

interface Settings {
  reference: string;
  rewards: string[];
  modules: string[];
  prompts: number;
  samples: number;
  temperature: number;
  maxSourceTokens: number;
  maxNewTokens: number;
  batchSize: number;
  seed: number;
}

function parseSettings(): Settings {
  const { values } = parseArgs({
    options: {
      reference: { type: "string", default: "models/ref" },
      rewards: { type: "string", default: "coverage,brevity,faithfulness,form" },
      module: { type: "string", multiple: true, default: [] },
      prompts: { type: "string", default: "200" },
      samples: { type: "string", default: "2" },
      temperature: { type: "string", default: "1" },
      "max-source-tokens": { type: "string", default: "96" },
      "max-new-tokens": { type: "string", default: "20" },
      "batch-size": { type: "string", default: "50" },
      seed: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const integer = (option: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`--${option} must be an integer of at least ${min}, got "${text}"`);
    }
    return value;
  };
  const temperature = Number(values.temperature);
  if (!(temperature > 0)) {
    throw new RangeError(`--temperature must be a positive number, got "${values.temperature}"`);
  }
  return {
    reference: values.reference!,
    rewards: values.rewards!.split(",").map((name) => name.trim()).filter((name) => name !== ""),
    modules: values.module!,
    prompts: integer("prompts", values.prompts!, 1),
    samples: integer("samples", values.samples!, 1),
    temperature,
    maxSourceTokens: integer("max-source-tokens", values["max-source-tokens"]!, 1),
    maxNewTokens: integer("max-new-tokens", values["max-new-tokens"]!, 1),
    batchSize: integer("batch-size", values["batch-size"]!, 1),
    seed: integer("seed", values.seed!, 0),
  };
}

/** Samples π_ref on `settings.prompts` random training prompts, `settings.samples` times each. */
function sampleReference(
  settings: Settings,
  model: Gpt,
  tokenizer: Tokenizer,
  train: readonly SummaryExample[],
): RewardInput[] {
  const rng = new Rng(mixSeed(settings.seed, 0x7277));
  const order = rng.shuffle(train.map((_, i) => i)).slice(0, settings.prompts);
  const rows = order.flatMap((i) => Array.from({ length: settings.samples }, () => train[i]!));
  const inputs: RewardInput[] = [];
  const rowsPerBatch = settings.batchSize * settings.samples;
  for (let start = 0; start < rows.length; start += rowsPerBatch) {
    const chunk = rows.slice(start, start + rowsPerBatch);
    const generation = generate(
      model,
      chunk.map((e) => promptIds(tokenizer, e.description, settings.maxSourceTokens)),
      null,
      {
        maxNewTokens: settings.maxNewTokens,
        temperature: settings.temperature,
        eosId: tokenizer.eosId,
        padId: tokenizer.padId,
        seeds: chunk.map((_, i) => mixSeed(settings.seed, start + i)),
      },
    );
    generation.tokens.forEach((tokens, i) => {
      const example = chunk[i]!;
      inputs.push({
        source: example.description,
        summary: decodeSummary(tokenizer, tokens),
        reference: example.synopsis,
      });
    });
  }
  return inputs;
}

function standardDeviation(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2)));
}

function format(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : "n/a";
}

/** Prints each reward's mean and population std, then the correlations of every pair. */
function printStatistics(title: string, rewards: readonly RewardFunction[], inputs: RewardInput[]) {
  const scores = scoreAll(rewards, inputs);
  const columns = rewards.map((_, j) => scores.map((row) => row[j]!));
  console.log(`\n### ${title} (${inputs.length} summaries)\n`);
  console.log("| reward | mean | std |\n| --- | ---: | ---: |");
  rewards.forEach((reward, j) => {
    const column = columns[j]!;
    const std = standardDeviation(column);
    console.log(`| ${reward.name} | ${format(mean(column))} | ${format(std)} |`);
  });
  console.log("\n| pair | Pearson | Spearman |\n| --- | ---: | ---: |");
  for (let a = 0; a < rewards.length; a++) {
    for (let b = a + 1; b < rewards.length; b++) {
      const x = columns[a]!;
      const y = columns[b]!;
      const pair = `${rewards[a]!.name} ~ ${rewards[b]!.name}`;
      console.log(`| ${pair} | ${format(pearson(x, y))} | ${format(spearman(x, y))} |`);
    }
  }
}

/** Prints the share of summaries with each fault that the form reward checks. */
function printFormFaults(sets: readonly { title: string; inputs: RewardInput[] }[]): void {
  const anyFault = "any of them";
  const counts = sets.map(({ inputs }) => {
    const byFault = new Map<string, number>();
    for (const input of inputs) {
      const faults = formFaults(input.summary);
      for (const fault of faults) byFault.set(fault, (byFault.get(fault) ?? 0) + 1);
      if (faults.length > 0) byFault.set(anyFault, (byFault.get(anyFault) ?? 0) + 1);
    }
    return byFault;
  });
  const faults = [...FORM_CHECKS.map((check) => check.fault), anyFault];
  console.log(`\n### Form faults (share of summaries)\n`);
  console.log(`| fault | ${sets.map((s) => s.title).join(" | ")} |`);
  console.log(`| --- |${sets.map(() => " ---: |").join("")}`);
  for (const fault of faults) {
    const shares = counts.map((byFault, k) => (byFault.get(fault) ?? 0) / sets[k]!.inputs.length);
    console.log(`| ${fault} | ${shares.map(format).join(" | ")} |`);
  }
}

/**
 * Returns the first surface word of each of the source's `topK` most salient stems, in source
 * order. Joined, they make a keyword list with coverage 1.
 */
function salientWords(source: string, topK: number): string[] {
  const remaining = new Set(salientStems(source, topK).map((s) => s.stem));
  const words: string[] = [];
  for (const word of tokenize(source)) {
    if (!isContentWord(word) || !remaining.has(stem(word))) continue;
    remaining.delete(stem(word));
    words.push(word);
  }
  return words;
}

/**
 * Prints the mean rewards of four summaries of each validation example. The first is the
 * description's first sentence cut to the generation limit, which is what copying the lead gives.
 * The next are its 10 most salient words and its single most salient word, near the coverage and
 * the brevity end. The last is the human synopsis.
 */
function printConstructed(
  rewards: readonly RewardFunction[],
  validation: readonly SummaryExample[],
  tokenizer: Tokenizer,
  maxNewTokens: number,
): void {
  const firstSentence = (text: string) => text.trim().split(/(?<=[.!?])\s+/)[0] ?? "";
  const truncate = (text: string) =>
    tokenizer.decode(tokenizer.encode(text).slice(0, maxNewTokens)).trim();
  const kinds: [string, (e: SummaryExample) => string][] = [
    [
      `first sentence, first ${maxNewTokens} tokens`,
      (e) => truncate(firstSentence(e.description)),
    ],
    ["10 most salient words", (e) => salientWords(e.description, 10).join(" ")],
    ["most salient word", (e) => salientWords(e.description, 1).join(" ")],
    ["human synopsis", (e) => e.synopsis],
  ];
  console.log(
    `\n### Constructed summaries of the ${validation.length} validation descriptions (mean)\n`,
  );
  console.log(`| summary | ${rewards.map((r) => r.name).join(" | ")} |`);
  console.log(`| --- |${rewards.map(() => " ---: |").join("")}`);
  for (const [kind, build] of kinds) {
    const inputs = validation.map((e) => ({
      source: e.description,
      summary: build(e),
      reference: e.synopsis,
    }));
    const scores = scoreAll(rewards, inputs);
    const means = rewards.map((_, j) => mean(scores.map((row) => row[j]!)));
    console.log(`| ${kind} | ${means.map(format).join(" | ")} |`);
  }
}

async function main(): Promise<void> {
  const settings = parseSettings();
  await loadRewardModules(settings.modules, process.cwd());
  const rewards = settings.rewards.map(getReward);
  const paths = defaultTaskPaths();
  const train = loadSplit(paths.train);
  const validation = loadSplit(paths.validation);

  const { model, tokenizer } = loadModelFolder(resolveReferencePath(settings.reference, "--reference"));
  const started = Date.now();
  let samples: RewardInput[];
  try {
    samples = sampleReference(settings, model, tokenizer, train);
  } finally {
    model.dispose();
  }
  const seconds = (Date.now() - started) / 1000;

  console.log(`## Reward statistics\n`);
  console.log(
    `π_ref ${settings.reference}: ${settings.prompts} training prompts × ${settings.samples} ` +
      `samples, temperature ${settings.temperature}, ` +
      `maxSourceTokens ${settings.maxSourceTokens}, maxNewTokens ${settings.maxNewTokens}, ` +
      `seed ${settings.seed}; sampled in ` +
      `${seconds.toFixed(1)} s on ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ` +
      `Node ${process.version}.`,
  );
  const human = validation.map((e) => ({
    source: e.description,
    summary: e.synopsis,
    reference: e.synopsis,
  }));
  printStatistics("Samples of π_ref", rewards, samples);
  printStatistics("Human synopses, validation split", rewards, human);
  if (rewards.some((r) => r.name === "form")) {
    printFormFaults([
      { title: "π_ref samples", inputs: samples },
      { title: "human synopses", inputs: human },
    ]);
  }
  printConstructed(rewards, validation, tokenizer, settings.maxNewTokens);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
