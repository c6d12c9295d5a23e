/**
 * The `clp` command line: train, evaluate and steer conditioned language policies.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, resolveConfig, type ClpConfig } from "../clp/config.js";
import { expectationFor, loadPolicy, policySourceFiles } from "../clp/load-policy.js";
import { summarize, type SteerablePolicy } from "../clp/steerable.js";
import { parseWeights, simplexGrid, WeightError } from "../clp/weights.js";
import { PerWeightPolicy } from "../baselines/per-weight.js";
import { defaultTaskPaths, loadSplit } from "../data/dataset.js";
import { EvalCache } from "../eval/cache.js";
import { evaluateFront, type EvalSettings } from "../eval/evaluate.js";
import { parseWeightGrid } from "../eval/weight-grid.js";
import { loadModelFolder } from "../model/checkpoint.js";
import { resolveRewardModulePath, RewardScorer } from "../rewards/index.js";
import { trainRun } from "../rl/methods.js";
import { isRunFolder, loadConfigRewards, resolveReferencePath, resolveRewards, validateRunInputs } from "../rl/run-context.js";
import { assertRunFolderFree } from "../rl/run-lock.js";
import { compareCommand } from "./compare.js";
import { digestTestPrompts, formatTable, writeEvaluation } from "./report.js";

/** Thrown for bad command-line usage; printed without a stack trace. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const MAIN_HELP = `clp: steerable multi-objective finetuning with Conditioned Language Policies

Usage: clp <command> [options]

Commands:
  train      train a CLP policy from a config, then evaluate it over a weight grid
  eval       evaluate a trained policy over a weight grid on the test split
  generate   summarise a description under a given weight vector
  compare    compare several methods' evaluations in one HTML report

Run "clp <command> --help" for a command's options.
`;

const TRAIN_HELP = `Usage: clp train --config FILE [options]
       clp train --resume RUN_DIR [--steps N]

Trains a steerable policy π(y | x, w) from the reference policy named in the config, writes the run
folder (resolved config, reward normalisation, metrics.jsonl, checkpoint/), then evaluates it on the
test split over the weight grid (front.json, front.csv, front.svg, front.html).

Options:
  --config FILE     training config (JSON); see configs/default.json
  --run-dir DIR     run folder (default: runs/<config name>)
  --resume DIR      continues the run in DIR from its newest valid checkpoint, with its own
                    config (--steps may raise the step count); finished policies are kept
  --steps N         overrides rl.steps
  --set KEY=VALUE   overrides one config field, e.g. --set conditioning.variant=lora or
                    --set 'objectives=["coverage","brevity","faithfulness"]' (VALUE is JSON,
                    or else a string); repeatable
  --overwrite       deletes the run folder's previous contents first
  --no-eval         skips the evaluation after training
  --quiet           prints no progress
  -h, --help        prints this help
`;

const EVAL_HELP = `Usage: clp eval --run DIR [options]

Evaluates a trained policy on the test split at every weight of the simplex lattice and at π_ref,
with the decoding settings of the run's config unless overridden.

Options:
  --run DIR         run folder written by clp train (its policy.json and config.json)
  --divisions N     lattice resolution: weights k/N (default: the config's eval.divisions)
  --prompts N       test prompts per weight (default: the config's eval.prompts; 0 means all)
  --samples N       samples per prompt (default: the config's eval.samplesPerPrompt)
  --out DIR         where to write front.* (default: the run folder)
  --grid FILE       weights to evaluate instead of the lattice: a JSON list of rows, or one
                    row per line (comma- or space-separated, optional header of objective names)
  --kl A[,B…]       KL coefficients to steer to (KL-steerable CLP policies and DeRa runs); with
                    several, each gets its own folder kl-<A>/ under --out
  --quiet           prints no progress
  -h, --help        prints this help

Finished weights are kept in OUT/eval-cache/, so an interrupted evaluation continues where it
stopped. The cache is keyed by the files the policy was read from, the weights and every
setting above.
`;

const GENERATE_HELP = `Usage: clp generate --run DIR --weights W [options] (--text TEXT | --file FILE)

Summarises a package description with the trained policy steered by the weight vector W, one weight
per objective in the order the run lists them, summing to 1 (e.g. --weights 0.2,0.8).

Options:
  --run DIR          run folder (or --checkpoint DIR for a policy folder)
  --checkpoint DIR   policy folder
  --weights W        comma-separated weights on the simplex
  --kl A             KL coefficient to steer to (KL-steerable CLP policies and DeRa runs)
  --text TEXT        the description to summarise
  --file FILE        reads the description from FILE ("-" for standard input)
  --samples N        number of summaries to draw (default 1)
  --temperature T    sampling temperature (default 1)
  --greedy           picks the most likely token at each step
  --seed N           random seed (default 1)
  --max-new-tokens N maximum summary length in tokens (default 20)
  -h, --help         prints this help
`;

function parse(argv: string[], options: ParseArgsConfig["options"], help: string) {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: false });
    if (parsed.values.help) {
      process.stdout.write(help);
      return null;
    }
    return parsed.values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
}

function intOption(values: Record<string, unknown>, name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${String(v)}"`);
  }
  return n;
}

function evalSettings(config: ClpConfig, overrides: { prompts?: number; samples?: number }): EvalSettings {
  return {
    prompts: overrides.prompts ?? config.eval.prompts,
    samplesPerPrompt: overrides.samples ?? config.eval.samplesPerPrompt,
    maxNewTokens: config.eval.maxNewTokens,
    temperature: config.eval.temperature,
    seed: config.eval.seed,
    maxSourceTokens: config.data.maxSourceTokens,
    batchSize: 48,
  };
}

/** A short title for reports: the method, and the variant for CLP. */
function describeRun(config: ClpConfig): string {
  const c = config.conditioning;
  let method: string;
  if (config.method === "clp") {
    const extras = [c.prompt && c.variant !== "none" ? "+ prompt" : "", c.klRange ? "+ KL steering" : ""].filter(Boolean).join(" ");
    method = c.variant === "none" ? "prompting only" : `CLP (${c.variant}${extras ? ` ${extras}` : ""})`;
  } else {
    method = config.method;
  }
  return `${method} on ${config.objectives.join(" vs ")}`;
}

/** Parses --kl A[,B…] for clp eval: KL coefficients > 0, or null when absent. */
function klListOption(values: Record<string, unknown>): (number | null)[] | null {
  if (values.kl === undefined) return null;
  return String(values.kl).split(",").map((part) => klOption({ kl: part })!);
}

/** Parses --kl: a KL coefficient > 0, or undefined when absent. */
function klOption(values: Record<string, unknown>): number | undefined {
  const v = values.kl;
  if (v === undefined) return undefined;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--kl must be a number > 0, got "${String(v)}"`);
  return n;
}

/** Evaluation job: the policy, its run folder (which keys the point cache), the output folder and settings. */
interface EvalTarget {
  policy: SteerablePolicy;
  config: ClpConfig;
  runDir: string;
  outDir: string;
  settings: EvalSettings;
  grid: number[][];
  quiet: boolean;
  title: string;
  kl: number | null;
}

async function runEvaluation(target: EvalTarget) {
  const { policy, config, outDir, settings, grid, quiet, title, kl } = target;
  const rewards = await RewardScorer.open(resolveRewards(config), { timeoutSeconds: config.rl.rewardTimeoutSeconds, raiseHint: "raise rl.rewardTimeoutSeconds" });
  const reference = loadModelFolder(resolveReferencePath(config.reference)).model;
  try {
    const test = loadSplit(defaultTaskPaths().test);
    const examples = settings.prompts > 0 ? test.slice(0, settings.prompts) : test;
    // Records the number of prompts actually used (0 and counts above the split mean all of them).
    settings.prompts = examples.length;
    const started = Date.now();
    // Every file the policy was read from keys the cache, so a retrained policy (or a retrained
    // run that a DeRa or logit-mixing run borrows from) misses it. So do π_ref's weights, the
    // reward modules and the test prompts, which change the KL and the scores.
    // NOTE: files that a reward module imports in turn are not part of the key.
    const referenceWeights = join(resolveReferencePath(config.reference), "model.safetensors");
    const keyFiles = [...policySourceFiles(target.runDir), referenceWeights, ...config.rewardModules];
    const sources = keyFiles.map((file) => {
      const stat = existsSync(file) ? statSync(file) : null;
      return [resolve(file), stat?.size ?? null, stat?.mtimeMs ?? null];
    });
    const testPrompts = digestTestPrompts(examples.map((e) => e.description));
    const cache = new EvalCache(join(outDir, "eval-cache"), { kind: policy.kind, sources, testPrompts: testPrompts.sha256 });
    const front = await evaluateFront(policy, reference, examples, rewards, grid, settings, { quiet, kl, cache });
    const steering = await writeEvaluation(outDir, { title, method: policy.kind, klCoef: kl, testPrompts }, config.objectives, settings, front.reference, front.points);
    process.stdout.write(`\n${formatTable(config.objectives, front.reference, front.points)}\n\n`);
    for (const s of steering) {
      if (Number.isNaN(s.ownVertexMean)) {
        process.stdout.write(`steering ${s.objective}: not checked, because the grid lacks its vertex or every other vertex\n`);
        continue;
      }
      process.stdout.write(
        `steering ${s.objective}: ${s.ownVertexMean.toFixed(3)} at its own vertex vs ${s.otherVertexMean.toFixed(3)} ` +
          `(difference ${s.difference.toFixed(3)}, ${s.differenceStderr > 0 ? `${(s.difference / s.differenceStderr).toFixed(1)} ${s.paired ? "paired " : ""}standard errors` : "standard error 0"}) ${s.passed ? "ok" : "NOT SEPARATED"}\n`,
      );
    }
    const reused = front.cachedPoints > 0 ? ` (${front.cachedPoints} read from ${join(outDir, "eval-cache")})` : "";
    process.stdout.write(`evaluated ${examples.length} test prompts with ${settings.samplesPerPrompt} sample(s) each at ${grid.length} weights and π_ref${reused} in ${Math.round((Date.now() - started) / 1000)} s; results in ${outDir}/front.{json,csv,svg,html}\n`);
  } finally {
    await rewards.close();
    reference.dispose();
  }
}

/** Returns the weights to evaluate: a per-weight run's own weights, a grid file, or the lattice. */
function evalGrid(policy: SteerablePolicy, config: ClpConfig, divisions: number, gridFile: string | undefined): number[][] {
  if (gridFile !== undefined) {
    if (!existsSync(gridFile)) throw new UsageError(`--grid ${gridFile} not found`);
    if (!statSync(gridFile).isFile()) throw new UsageError(`--grid ${gridFile} is not a file; name a text or JSON file of weight rows`);
    try {
      return parseWeightGrid(readFileSync(gridFile, "utf8"), config.objectives);
    } catch (err) {
      if (err instanceof WeightError) throw new WeightError(`--grid ${gridFile}: ${err.message}`);
      throw err;
    }
  }
  // A per-weight run decodes only at the weights it trained.
  if (policy instanceof PerWeightPolicy) return policy.weights();
  return simplexGrid(config.objectives.length, divisions);
}

async function train(argv: string[]): Promise<void> {
  const values = parse(argv, {
    config: { type: "string" },
    "run-dir": { type: "string" },
    resume: { type: "string" },
    steps: { type: "string" },
    set: { type: "string", multiple: true },
    "no-eval": { type: "boolean" },
    overwrite: { type: "boolean" },
    quiet: { type: "boolean" },
  }, TRAIN_HELP);
  if (values === null) return;
  const resumeDir = values.resume as string | undefined;
  if (resumeDir !== undefined && values.config !== undefined) throw new UsageError(`give either --config or --resume, not both\n\n${TRAIN_HELP}`);
  if (resumeDir === undefined && typeof values.config !== "string") throw new UsageError(`--config is required\n\n${TRAIN_HELP}`);
  if (resumeDir !== undefined && (values["run-dir"] !== undefined || values.overwrite === true)) {
    throw new UsageError(`--resume continues the run in its own folder; drop ${values["run-dir"] !== undefined ? "--run-dir" : "--overwrite"}`);
  }
  const configPath = resumeDir !== undefined ? join(resumeDir, "config.json") : (values.config as string);
  if (resumeDir !== undefined && (!existsSync(configPath) || !isRunFolder(resumeDir))) {
    throw new UsageError(`${resumeDir} is not a run folder written by clp train (it needs a config.json beside the run's calibration or metrics); --resume must name one`);
  }
  let config = loadConfig(configPath);
  const sets = (values.set as unknown as string[] | undefined) ?? [];
  if (sets.length > 0) {
    config = resolveConfig(applyOverrides(config, sets), `${configPath} with --set`);
    // Module paths given with --set are relative to the working directory; stored absolute.
    config.rewardModules = config.rewardModules.map((module) => resolveRewardModulePath(module, process.cwd()));
  }
  const steps = intOption(values, "steps");
  if (steps !== undefined) config = resolveConfig({ ...config, rl: { ...config.rl, steps } }, configPath);
  const runDir = resumeDir ?? (values["run-dir"] as string | undefined) ?? join("runs", basename(configPath, ".json"));
  const quiet = values.quiet === true;
  await loadConfigRewards(config);
  validateRunInputs(config);
  if (values.overwrite === true && resumeDir === undefined && existsSync(runDir)) {
    if (!statSync(runDir).isDirectory() || !isRunFolder(runDir)) {
      throw new UsageError(`--overwrite deletes only run folders written by clp train, and ${runDir} is not one (no config.json with metrics or a policy); remove it yourself or choose another --run-dir`);
    }
    assertRunFolderFree(runDir);
    process.stderr.write(`clp train: removing the previous run in ${runDir}\n`);
    rmSync(runDir, { recursive: true, force: true });
  }
  const started = Date.now();
  // The first SIGINT or SIGTERM lets the current step finish and saves a checkpoint; a second
  // one exits at once.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(`\nclp train: ${signal} received; finishing the current step and saving a checkpoint (send it again to exit at once)\n`);
    stop.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result;
  try {
    result = await trainRun(config, runDir, { quiet, resume: resumeDir !== undefined, signal: stop.signal });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  result.reference.dispose();
  try {
    process.stdout.write(`trained in ${Math.round((Date.now() - started) / 1000)} s; run folder ${runDir}\n`);
    if (values["no-eval"] !== true) {
      const grid = evalGrid(result.policy, config, config.eval.divisions, undefined);
      await runEvaluation({ policy: result.policy, config, runDir, outDir: runDir, settings: evalSettings(config, {}), grid, quiet, title: describeRun(config), kl: null });
    }
    process.stdout.write(`total ${Math.round((Date.now() - started) / 1000)} s\n`);
  } finally {
    result.policy.dispose();
  }
}

/** Applies --set KEY=VALUE overrides to a config object; VALUE is parsed as JSON when it can be. */
export function applyOverrides(config: ClpConfig, sets: readonly string[]): Record<string, unknown> {
  const out = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const item of sets) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set needs KEY=VALUE, e.g. --set rl.steps=20; got "${item}"`);
    const path = item.slice(0, eq).split(".");
    if (path.some((key) => key === "__proto__" || key === "constructor" || key === "prototype" || key === "")) {
      throw new UsageError(`--set ${item}: "${item.slice(0, eq)}" does not name a config field`);
    }
    const text = item.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let target = out;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (next === null || typeof next !== "object" || Array.isArray(next)) {
        throw new UsageError(`--set ${item}: "${path.join(".")}" does not name a config field (no section "${key}")`);
      }
      target = next as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = value;
  }
  return out;
}

function readRunConfig(runDir: string): ClpConfig {
  const path = join(runDir, "config.json");
  if (!existsSync(path)) throw new UsageError(`${path} not found; --run must name a folder written by clp train`);
  return loadConfig(path);
}

async function evaluate(argv: string[]): Promise<void> {
  const values = parse(argv, {
    run: { type: "string" },
    divisions: { type: "string" },
    prompts: { type: "string" },
    samples: { type: "string" },
    out: { type: "string" },
    grid: { type: "string" },
    kl: { type: "string" },
    quiet: { type: "boolean" },
  }, EVAL_HELP);
  if (values === null) return;
  if (typeof values.run !== "string") throw new UsageError(`--run is required\n\n${EVAL_HELP}`);
  const config = readRunConfig(values.run);
  await loadConfigRewards(config);
  const kl = klListOption(values);
  const policy = loadPolicy(values.run, expectationFor(config));
  try {
    const outDir = (values.out as string | undefined) ?? values.run;
    mkdirSync(outDir, { recursive: true });
    const settings = evalSettings(config, { prompts: intOption(values, "prompts"), samples: intOption(values, "samples", 1) });
    const divisions = intOption(values, "divisions", 1) ?? config.eval.divisions;
    const grid = evalGrid(policy, config, divisions, values.grid as string | undefined);
    const klValues = kl ?? [null];
    for (const value of klValues) {
      // Several α values each get their own folder, so every front.json contains one front.
      const target = klValues.length > 1 ? join(outDir, `kl-${value}`) : outDir;
      mkdirSync(target, { recursive: true });
      const title = describeRun(config) + (value === null ? "" : ` at KL coefficient ${value}`);
      await runEvaluation({ policy, config, runDir: values.run, outDir: target, settings, grid, quiet: values.quiet === true, title, kl: value });
    }
  } finally {
    policy.dispose();
  }
}

async function generateCommand(argv: string[]): Promise<void> {
  const values = parse(argv, {
    run: { type: "string" },
    checkpoint: { type: "string" },
    weights: { type: "string" },
    kl: { type: "string" },
    text: { type: "string" },
    file: { type: "string" },
    samples: { type: "string" },
    temperature: { type: "string" },
    greedy: { type: "boolean" },
    seed: { type: "string" },
    "max-new-tokens": { type: "string" },
  }, GENERATE_HELP);
  if (values === null) return;
  let dir: string;
  if (typeof values.checkpoint === "string") dir = values.checkpoint;
  else if (typeof values.run === "string") dir = values.run;
  else throw new UsageError(`--run or --checkpoint is required\n\n${GENERATE_HELP}`);
  if (typeof values.weights !== "string") throw new UsageError(`--weights is required, e.g. --weights 0.2,0.8\n\n${GENERATE_HELP}`);
  if (typeof values.text === "string" && typeof values.file === "string") throw new UsageError("give the description with --text or --file, not both");
  let text: string;
  if (typeof values.text === "string") text = values.text;
  else if (typeof values.file === "string") text = readFileSync(values.file === "-" ? 0 : values.file, "utf8");
  else throw new UsageError(`give the description with --text or --file\n\n${GENERATE_HELP}`);
  if (text.trim() === "") throw new UsageError("the description is empty");
  const temperature = values.temperature === undefined ? 1 : Number(values.temperature);
  if (!(temperature > 0)) throw new UsageError(`--temperature must be a positive number, got "${String(values.temperature)}"`);
  const samples = intOption(values, "samples", 1) ?? 1;
  const maxNewTokens = intOption(values, "max-new-tokens", 1) ?? 20;
  const seed = intOption(values, "seed") ?? 1;
  const kl = klOption(values) ?? null;
  const policy = loadPolicy(dir);
  try {
    const weights = parseWeights(values.weights, policy.objectives);
    const { texts, generation } = summarize(policy, Array.from({ length: samples }, () => text), { weights, kl }, {
      maxNewTokens,
      temperature,
      greedy: values.greedy === true,
      seed,
    });
    if (generation.maxNewTokens < maxNewTokens) {
      process.stderr.write(`clp generate: --max-new-tokens ${maxNewTokens} does not fit in the model's context after the prompt; generated at most ${generation.maxNewTokens} tokens\n`);
    }
    for (const t of texts) process.stdout.write(`${t}\n`);
  } finally {
    policy.dispose();
  }
}

/** Runs the command line with `argv` (without node and script). */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "train":
      return train(rest);
    case "eval":
      return evaluate(rest);
    case "generate":
      return generateCommand(rest);
    case "compare":
      return compareCommand(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(MAIN_HELP);
      return;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${MAIN_HELP}`);
  }
}
