/**
 * Resumable training checkpoints. Each one is a folder `checkpoints/step-NNNNNN/` holding
 *
 *   policy/               the policy folder (every conditioned copy, tokenizer, metadata)
 *   optimizer.safetensors AdamW's first and second moments, by parameter name
 *   state.json            step, optimizer step count, random-generator states, data order, the
 *                         policy spec, the resolved config and the clp version
 *   MANIFEST.json         size and SHA-256 of every other file, written last
 *
 * A checkpoint is assembled in a hidden sibling folder, every file fsynced, and renamed into place
 * only when complete, so a crash or kill at any moment leaves the earlier checkpoints intact. The
 * loader takes the newest folder whose manifest matches its files and skips any other.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { ClpConfig } from "../clp/config.js";
import { ClpPolicy } from "../clp/policy.js";
import { CheckpointError, loadSafetensors, saveSafetensors, writeFileAtomic } from "../model/safetensors.js";
import type { AdamW } from "../torch/index.js";
import { noGrad, type Tensor } from "../torch/index.js";
import type { PolicySpec } from "./clp-trainer.js";

/** Files every checkpoint holds, which its manifest must list. */
const CHECKPOINT_FILES = ["state.json", "optimizer.safetensors", "policy/config.json", "policy/model.safetensors", "policy/tokenizer.json"];

/** Format tag of state.json and MANIFEST.json. */
export const TRAINING_STATE_FORMAT = "clp-train-state/1";

/** Everything besides tensors that a resumed run needs to continue exactly. */
export interface TrainingState {
  format: string;
  /** RL steps completed. */
  step: number;
  optimizerStepCount: number;
  /** Names of the optimised tensors, in optimizer order. */
  parameterNames: string[];
  rng: { data: number[]; weights: number[] };
  /** Training example indices still to draw in the current epoch (drawn from the end). */
  order: number[];
  spec: PolicySpec;
  config: ClpConfig;
  clpVersion: string;
  /**
   * Updates skipped in a row just before this checkpoint, with the state at the start of the first
   * of them, so that rl.maxSkippedUpdates counts across a resume. Absent or null when the last
   * step made an update.
   */
  skipStreak?: SkipStreak | null;
}

/** A run of consecutive skipped updates: how many, and where the first one started. */
export interface SkipStreak {
  count: number;
  since: { step: number; rng: { data: number[]; weights: number[] }; order: number[] };
}

/** A loaded checkpoint: the policy and the optimizer moments are owned by the caller. */
export interface LoadedCheckpoint {
  dir: string;
  state: TrainingState;
  policy: ClpPolicy;
  moments: Map<string, Tensor>;
}

/** Version of the clp package, recorded in every checkpoint. */
export function clpVersion(): string {
  const path = fileURLToPath(new URL("../../../package.json", import.meta.url));
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

function stepName(step: number): string {
  return `step-${String(step).padStart(6, "0")}`;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes checkpoint `state.step` into `root`, then deletes the checkpoints of later steps and all
 * but the newest `keep` checkpoints. Returns the checkpoint's folder.
 */
export function saveTrainingCheckpoint(root: string, policy: ClpPolicy, optimizer: AdamW, state: TrainingState, keep: number): string {
  mkdirSync(root, { recursive: true });
  recoverInterruptedSave(root);
  const final = join(root, stepName(state.step));
  const temp = join(root, `.${stepName(state.step)}.partial-${process.pid}`);
  // Partial folders of a process killed mid-save are never renamed into place: drop them.
  for (const name of readdirSync(root)) {
    if (/^\.step-\d+\.partial-\d+$/.test(name)) rmSync(join(root, name), { recursive: true, force: true });
  }
  try {
    mkdirSync(temp);
    policy.save(join(temp, "policy"), { step: state.step });
    const moments = new Map<string, Tensor>();
    state.parameterNames.forEach((name, i) => {
      moments.set(`exp_avg.${name}`, optimizer.expAvg[i]!);
      moments.set(`exp_avg_sq.${name}`, optimizer.expAvgSq[i]!);
    });
    saveSafetensors(join(temp, "optimizer.safetensors"), moments, { format: TRAINING_STATE_FORMAT });
    writeFileAtomic(join(temp, "state.json"), [Buffer.from(JSON.stringify(state, null, 2) + "\n")]);
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const path of listFiles(temp)) files[relative(temp, path)] = { bytes: statSync(path).size, sha256: sha256(path) };
    writeFileAtomic(join(temp, "MANIFEST.json"), [Buffer.from(JSON.stringify({ format: TRAINING_STATE_FORMAT, step: state.step, files }, null, 2) + "\n")]);
    // Saving a step again (after a stop or on resume) moves the earlier copy aside first, so a kill
    // between the two renames leaves a complete copy that `recoverInterruptedSave` puts back.
    const aside = join(root, `.${stepName(state.step)}.replaced-${process.pid}`);
    const replacing = existsSync(final);
    if (replacing) renameSync(final, aside);
    renameSync(temp, final);
    fsyncDir(root);
    if (replacing) rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    const previous = listCheckpoints(root)[0];
    throw new CheckpointError(
      `saving checkpoint ${stepName(state.step)} into ${root} failed (${(err as Error).message}); ` +
        `${previous === undefined ? "no earlier checkpoint exists" : `the earlier checkpoint ${previous} is intact`}. ` +
        "Free disk space or fix the folder's permissions, then continue with clp train --resume",
      { cause: err },
    );
  }
  // Checkpoints of later steps belong to steps the run now repeats (the skipped updates before a
  // stop): the one just saved supersedes them.
  for (const name of listCheckpoints(root)) {
    if (name > stepName(state.step)) rmSync(join(root, name), { recursive: true, force: true });
  }
  for (const old of listCheckpoints(root).slice(keep)) rmSync(join(root, old), { recursive: true, force: true });
  return final;
}

/**
 * Finishes a save that a kill interrupted between moving an earlier copy of its step aside and
 * moving the new copy in: each aside copy whose step folder is missing is moved back, and the
 * others are deleted.
 */
export function recoverInterruptedSave(root: string): void {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const match = /^\.(step-\d+)\.replaced-\d+$/.exec(name);
    if (match === null) continue;
    const final = join(root, match[1]!);
    if (existsSync(final)) rmSync(join(root, name), { recursive: true, force: true });
    else renameSync(join(root, name), final);
  }
}

/** Returns the checkpoint folder names in `root`, newest first. */
export function listCheckpoints(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => /^step-\d{6,}$/.test(name))
    .sort()
    .reverse();
}

/** Returns why a checkpoint folder fails its manifest, or null when every file matches. */
export function verifyCheckpoint(dir: string): string | null {
  const manifestPath = join(dir, "MANIFEST.json");
  if (!existsSync(manifestPath)) return "MANIFEST.json is missing";
  let manifest: { format?: string; files?: Record<string, { bytes: number; sha256: string }> };
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as typeof manifest;
  } catch (err) {
    return `MANIFEST.json is not valid JSON (${(err as Error).message})`;
  }
  if (manifest.format !== TRAINING_STATE_FORMAT || manifest.files === undefined) return `MANIFEST.json is not a "${TRAINING_STATE_FORMAT}" manifest`;
  const unlisted = CHECKPOINT_FILES.filter((file) => manifest.files![file] === undefined);
  if (unlisted.length > 0) return `MANIFEST.json does not list ${unlisted.join(", ")}`;
  for (const [file, expected] of Object.entries(manifest.files)) {
    const path = join(dir, file);
    if (!existsSync(path)) return `${file} is missing`;
    if (statSync(path).size !== expected.bytes) return `${file} has ${statSync(path).size} bytes, the manifest records ${expected.bytes}`;
    if (sha256(path) !== expected.sha256) return `${file} does not match its SHA-256 in the manifest`;
  }
  return null;
}

/**
 * Loads the newest checkpoint in `root` that passes its manifest. Checkpoints that fail are
 * reported through `warn` and skipped; throws when none is usable.
 */
export function loadLatestCheckpoint(root: string, warn: (message: string) => void = () => {}): LoadedCheckpoint {
  recoverInterruptedSave(root);
  const names = listCheckpoints(root);
  if (names.length === 0) throw new CheckpointError(`${root} contains no checkpoint (step-NNNNNN folders); the run saved none before it stopped, so start it again with clp train --config`);
  const reasons: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const problem = verifyCheckpoint(dir);
    if (problem !== null) {
      reasons.push(`${name}: ${problem}`);
      warn(`skipping checkpoint ${dir}: ${problem}`);
      continue;
    }
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as TrainingState;
    if (state.format !== TRAINING_STATE_FORMAT) {
      reasons.push(`${name}: state.json has format ${JSON.stringify(state.format)}`);
      continue;
    }
    const policy = ClpPolicy.load(join(dir, "policy"));
    const { tensors } = loadSafetensors(join(dir, "optimizer.safetensors"));
    return { dir, state, policy, moments: tensors };
  }
  throw new CheckpointError(`no usable checkpoint in ${root}: ${reasons.join("; ")}`);
}

/** Copies saved moments into a fresh optimizer whose tensors follow `names`. */
export function restoreOptimizer(optimizer: AdamW, names: readonly string[], moments: Map<string, Tensor>, stepCount: number): void {
  noGrad(() => {
    names.forEach((name, i) => {
      const avg = moments.get(`exp_avg.${name}`);
      const avgSq = moments.get(`exp_avg_sq.${name}`);
      if (avg === undefined || avgSq === undefined) throw new CheckpointError(`optimizer.safetensors has no moments for "${name}"`);
      optimizer.expAvg[i]!.copy_(avg);
      optimizer.expAvgSq[i]!.copy_(avgSq);
    });
  });
  optimizer.stepCount = stepCount;
  for (const t of moments.values()) t.dispose();
}
