/**
 * Training for every method a config can name: a CLP policy, or a baseline built from policies
 * trained with the same RL loop. Rewarded Soups and logit mixing share their m single-objective
 * experts, one model per weight trains a policy at every lattice weight, and DeRa trains nothing
 * because it realigns an earlier run at decoding time.
 */
import { join } from "node:path";
import { ClpConfigError, type ClpConfig } from "../clp/config.js";
import { expectationFor, loadPolicy, readRunPolicyCheckpoints, writeRunPolicy } from "../clp/load-policy.js";
import type { SteerablePolicy } from "../clp/steerable.js";
import { simplexGrid, vertex } from "../clp/weights.js";
import type { Gpt } from "../model/gpt.js";
import type { RewardNormalizer } from "../rewards/index.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { clpSpec, trainPolicy, type PolicySpec } from "./clp-trainer.js";
import { prepareRun, resolveReferencePath, type RunContext, type TrainOptions } from "./run-context.js";
import { runWriteError } from "./write-failure.js";

/** The trained policy, π_ref and the run's normalisation; the caller disposes policy and reference. */
export interface TrainResult {
  policy: SteerablePolicy;
  reference: Gpt;
  tokenizer: Tokenizer;
  normalizer: RewardNormalizer;
  runDir: string;
}

/** Returns the spec of a single-weight policy: every parameter trained ("full") or one low-rank delta ("lora"). */
function singleWeightSpec(ctx: RunContext, weights: number[], stream: number): PolicySpec {
  const variant = ctx.config.conditioning.variant === "lora" ? "lora" : "none";
  return { variant, prompt: false, klRange: null, fixedWeights: weights, stream };
}

/** Trains the m experts, expert i at the vertex eᵢ, in runDir/experts/<objective>. */
async function trainExperts(ctx: RunContext): Promise<string[]> {
  const m = ctx.config.objectives.length;
  const dirs: string[] = [];
  for (const [i, name] of ctx.config.objectives.entries()) {
    const dir = join(ctx.runDir, "experts", name);
    ctx.log(`expert ${i + 1}/${m}: objective "${name}"`);
    (await trainPolicy(ctx, singleWeightSpec(ctx, vertex(m, i), i + 1), dir, `expert ${name}`)).dispose();
    dirs.push(join(dir, "checkpoint"));
  }
  return dirs;
}

/** Trains a policy at every weight of the lattice, in runDir/per-weight/<index>. */
async function trainPerWeight(ctx: RunContext): Promise<string[]> {
  const grid = simplexGrid(ctx.config.objectives.length, ctx.config.baseline.divisions);
  const dirs: string[] = [];
  for (const [i, w] of grid.entries()) {
    const dir = join(ctx.runDir, "per-weight", String(i));
    ctx.log(`per-weight policy ${i + 1}/${grid.length}: w = [${w.map((x) => x.toFixed(2))}]`);
    (await trainPolicy(ctx, singleWeightSpec(ctx, w, 100 + i), dir, `w=[${w.map((x) => x.toFixed(2))}]`)).dispose();
    dirs.push(join(dir, "checkpoint"));
  }
  return dirs;
}

/**
 * Runs the method of `config` in `runDir` and returns the policy it produced. With
 * `options.resume`, policies already trained are kept and the others continue from their
 * newest checkpoint. A write into `runDir` that fails (a full disk, a read-only file system)
 * raises a RunWriteError that names the newest intact checkpoint and the resume command.
 */
export async function trainRun(config: ClpConfig, runDir: string, options: TrainOptions = {}): Promise<TrainResult> {
  try {
    return await trainMethod(config, runDir, options);
  } catch (err) {
    throw runWriteError(err, runDir) ?? err;
  }
}

async function trainMethod(config: ClpConfig, runDir: string, options: TrainOptions): Promise<TrainResult> {
  const ctx = await prepareRun(config, runDir, options);
  try {
    switch (config.method) {
      case "clp":
        (await trainPolicy(ctx, clpSpec(ctx), runDir)).dispose();
        writeRunPolicy(runDir, { kind: "clp", checkpoints: [join(runDir, "checkpoint")] });
        break;
      case "rewarded-soups":
      case "logit-mixing": {
        let experts: string[];
        if (config.baseline.expertsFrom !== "") {
          const from = resolveReferencePath(config.baseline.expertsFrom, "baseline.expertsFrom");
          experts = readRunPolicyCheckpoints(from, ["rewarded-soups", "logit-mixing"]);
          ctx.log(`reusing the experts of ${from}`);
        } else {
          experts = await trainExperts(ctx);
        }
        writeRunPolicy(runDir, { kind: config.method, checkpoints: experts });
        break;
      }
      case "per-weight":
        writeRunPolicy(runDir, { kind: "per-weight", checkpoints: await trainPerWeight(ctx) });
        break;
      case "dera": {
        const aligned = resolveReferencePath(config.baseline.alignedFrom, "baseline.alignedFrom");
        writeRunPolicy(runDir, { kind: "dera", checkpoints: [], aligned, reference: config.reference });
        break;
      }
      default:
        throw new ClpConfigError(`method "${config.method as string}" is not implemented`);
    }
    const policy = loadPolicy(runDir, expectationFor(config));
    return { policy, reference: ctx.reference, tokenizer: ctx.tokenizer, normalizer: ctx.normalizer, runDir };
  } catch (err) {
    ctx.reference.dispose();
    throw err;
  } finally {
    await ctx.scorer.close();
    ctx.releaseLock();
  }
}
