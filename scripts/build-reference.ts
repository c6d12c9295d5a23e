// Builds the reference policy π_ref from the committed data: trains the tokenizer, pretrains the
// GPT on package descriptions, then finetunes it on description → synopsis pairs.
//
//   node dist/scripts/build-reference.js --config configs/reference.json
//
// Everything is seeded from the config; the result goes to the config's "out" folder together with
// the metrics of both phases.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultTaskPaths, loadPretrainCorpus, loadSplit } from "../src/data/dataset.js";
import { validateGptConfig } from "../src/model/config.js";
import { saveModelFolder } from "../src/model/checkpoint.js";
import { Gpt } from "../src/model/gpt.js";
import { completionIds, promptIds } from "../src/task/summarize.js";
import { DEFAULT_SPECIAL_TOKENS, trainBpe, type Tokenizer } from "../src/tokenizer/bpe.js";
import { finetune, pretrain, type SupervisedPair } from "../src/train/lm.js";

interface ReferenceConfig {
  seed: number;
  out: string;
  tokenizer: { vocabSize: number; minFrequency: number };
  model: unknown;
  pretrain: {
    steps: number;
    batchSize: number;
    seqLength: number;
    lr: number;
    minLr: number;
    warmupSteps: number;
    weightDecay: number;
    gradClip: number;
    evalEvery: number;
    evalBatches: number;
  };
  sft: {
    steps: number;
    batchSize: number;
    lr: number;
    minLr: number;
    warmupSteps: number;
    weightDecay: number;
    gradClip: number;
    evalEvery: number;
    maxSourceTokens: number;
  };
}

function packTokens(tokenizer: Tokenizer, documents: readonly string[]): Int32Array {
  const ids: number[] = [];
  for (const doc of documents) {
    for (const id of tokenizer.encode(doc)) ids.push(id);
    ids.push(tokenizer.eosId);
  }
  return Int32Array.from(ids);
}

function main(): void {
  const { values } = parseArgs({ options: { config: { type: "string", default: "configs/reference.json" } } });
  const configPath = values.config!;
  const config = JSON.parse(readFileSync(configPath, "utf8")) as ReferenceConfig;
  const modelConfig = validateGptConfig(config.model, `${configPath} (field "model")`);
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`build-reference: ${message}\n`);

  const paths = defaultTaskPaths();
  const corpus = loadPretrainCorpus();
  const train = loadSplit(paths.train);
  const validation = loadSplit(paths.validation);

  log(`training the tokenizer on ${corpus.length} documents and ${train.length} synopses`);
  const tokenizer = trainBpe([...corpus, ...train.map((e) => e.synopsis)], {
    vocabSize: config.tokenizer.vocabSize,
    specialTokens: [...DEFAULT_SPECIAL_TOKENS],
    minFrequency: config.tokenizer.minFrequency,
  });
  if (tokenizer.vocabSize !== modelConfig.vocabSize) {
    throw new Error(`the tokenizer has ${tokenizer.vocabSize} tokens but the model config asks for ${modelConfig.vocabSize}`);
  }

  const trainTokens = packTokens(tokenizer, corpus);
  const valTokens = packTokens(tokenizer, validation.map((e) => e.description));
  log(`pretraining corpus: ${trainTokens.length} tokens; validation: ${valTokens.length} tokens`);

  const model = Gpt.init(modelConfig, config.seed);
  log(`model: ${model.parameterCount()} parameters`);
  const pre = pretrain(model, trainTokens, valTokens, {
    ...config.pretrain,
    seed: config.seed,
    metricsPath: join(`${config.out}-training`, "pretrain.jsonl"),
    progressLabel: "pretrain",
  });
  log(`pretraining validation loss ${pre.finalValLoss.toFixed(4)}`);

  const toPairs = (examples: typeof train): SupervisedPair[] =>
    examples.map((e) => ({
      prompt: promptIds(tokenizer, e.description, config.sft.maxSourceTokens),
      completion: completionIds(tokenizer, e.synopsis),
    }));
  const sft = finetune(model, toPairs(train), toPairs(validation), {
    ...config.sft,
    seed: config.seed + 1,
    padId: tokenizer.padId,
    metricsPath: join(`${config.out}-training`, "sft.jsonl"),
    progressLabel: "sft",
  });
  log(`finetuning validation loss per synopsis token ${sft.finalValLoss.toFixed(4)}`);

  saveModelFolder(config.out, model, tokenizer, {
    role: "reference policy",
    builtBy: `node dist/scripts/build-reference.js --config ${configPath}`,
    config,
    pretrainValLoss: pre.finalValLoss,
    pretrainHistory: pre.history,
    sftValLoss: sft.finalValLoss,
    sftHistory: sft.history,
    maxSourceTokens: config.sft.maxSourceTokens,
    trainingSeconds: Math.round((Date.now() - started) / 1000),
  });
  log(`saved ${config.out} after ${Math.round((Date.now() - started) / 1000)} s`);
  model.dispose();
}

main();
