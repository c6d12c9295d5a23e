/**
 * Reads the steerable policy of a run folder, whatever its kind. A run folder records its policy
 * in policy.json ("clp-run/1"):
 *
 *   {"format": "clp-run/1", "kind": "clp", "checkpoints": ["checkpoint"]}
 *   {"format": "clp-run/1", "kind": "rewarded-soups", "checkpoints": ["experts/coverage/checkpoint", …]}
 *   {"format": "clp-run/1", "kind": "dera", "checkpoints": [], "aligned": "../attn-run", "reference": "models/ref"}
 *
 * Paths are relative to the run folder. A folder without policy.json is read as a CLP checkpoint,
 * or as a run whose CLP checkpoint is in checkpoint/.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { DeraPolicy } from "../baselines/dera.js";
import { LogitMixingPolicy } from "../baselines/logit-mixing.js";
import { PerWeightPolicy } from "../baselines/per-weight.js";
import { RewardedSoupsPolicy } from "../baselines/rewarded-soups.js";
import { loadModelFolder } from "../model/checkpoint.js";
import type { Gpt } from "../model/gpt.js";
import { CheckpointError } from "../model/safetensors.js";
import { resolveReferencePath } from "../rl/run-context.js";
import type { ClpConfig } from "./config.js";
import { ClpPolicy, PolicyMismatchError, type PolicyExpectation } from "./policy.js";
import { PROMPT_FORMAT } from "./prompt-format.js";
import { POLICY_KINDS, type PolicyKind, type SteerablePolicy } from "./steerable.js";
import { writeTextAtomic } from "../util/fs-errors.js";

/** Format tag of policy.json. */
export const RUN_POLICY_FORMAT = "clp-run/1";

/** Contents of policy.json. */
export interface RunPolicyFile {
  format: string;
  kind: PolicyKind;
  /** Policy folders: one for clp, one per expert or grid weight for the baselines. */
  checkpoints: string[];
  /** dera: run folder of the aligned policy. */
  aligned?: string;
  /** dera: folder of π_ref. */
  reference?: string;
}

/**
 * Writes policy.json into `runDir`. Paths are given as absolute or relative to the working
 * directory, and stored relative to the run folder, so the folder can be read from anywhere.
 */
export function writeRunPolicy(runDir: string, file: Omit<RunPolicyFile, "format">): void {
  const rel = (p: string) => relative(resolve(runDir), resolve(p)) || ".";
  const out: RunPolicyFile = { format: RUN_POLICY_FORMAT, ...file, checkpoints: file.checkpoints.map(rel) };
  if (file.aligned !== undefined) out.aligned = rel(file.aligned);
  writeTextAtomic(join(runDir, "policy.json"), JSON.stringify(out, null, 2) + "\n");
}

function readRunPolicy(path: string): RunPolicyFile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new CheckpointError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new CheckpointError(`${path} must contain a JSON object with "format", "kind" and "checkpoints"; retrain the run to rewrite it`);
  }
  if (raw.format !== RUN_POLICY_FORMAT) {
    throw new CheckpointError(`${path}: field "format" is ${JSON.stringify(raw.format)}; expected "${RUN_POLICY_FORMAT}"`);
  }
  if (typeof raw.kind !== "string" || !(POLICY_KINDS as readonly string[]).includes(raw.kind)) {
    throw new CheckpointError(`${path}: field "kind" is ${JSON.stringify(raw.kind)}; known kinds: ${POLICY_KINDS.join(", ")}`);
  }
  if (!Array.isArray(raw.checkpoints) || raw.checkpoints.some((c) => typeof c !== "string")) {
    throw new CheckpointError(`${path}: field "checkpoints" must be a list of folder paths`);
  }
  return raw as unknown as RunPolicyFile;
}

/** Returns the absolute checkpoint folders of a run whose kind is one of `kinds`. */
export function readRunPolicyCheckpoints(runDir: string, kinds: readonly PolicyKind[]): string[] {
  const descriptor = join(runDir, "policy.json");
  if (!existsSync(descriptor)) throw new CheckpointError(`${descriptor} not found; name a run folder written by clp train`);
  const file = readRunPolicy(descriptor);
  if (!kinds.includes(file.kind)) {
    throw new CheckpointError(`${descriptor}: the run is "${file.kind}", but experts come from a ${kinds.join(" or ")} run`);
  }
  return file.checkpoints.map((c) => (isAbsolute(c) ? c : resolve(runDir, c)));
}

/** Returns what a run's config requires of its checkpoints: objectives always, the rest for CLP runs. */
export function expectationFor(config: ClpConfig): PolicyExpectation {
  if (config.method === "dera") return { objectives: config.objectives };
  if (config.method !== "clp") return { objectives: config.objectives, maxSourceTokens: config.data.maxSourceTokens };
  const c = config.conditioning;
  return {
    objectives: config.objectives,
    variant: c.variant,
    promptFormat: c.prompt || c.klRange !== null ? PROMPT_FORMAT : null,
    maxSourceTokens: config.data.maxSourceTokens,
  };
}

/**
 * Lists every file whose content determines the policy of a run or policy folder, following a
 * DeRa run to its aligned run: evaluation caches key on their sizes and modification times.
 */
export function policySourceFiles(path: string): string[] {
  const descriptor = join(path, "policy.json");
  if (!existsSync(descriptor)) {
    const dir = existsSync(join(path, "checkpoint")) ? join(path, "checkpoint") : path;
    return [join(dir, "config.json"), join(dir, "model.safetensors")];
  }
  const file = readRunPolicy(descriptor);
  const files = [descriptor];
  for (const c of file.checkpoints) {
    const dir = isAbsolute(c) ? c : join(path, c);
    files.push(join(dir, "config.json"), join(dir, "model.safetensors"));
  }
  if (file.aligned !== undefined) files.push(...policySourceFiles(isAbsolute(file.aligned) ? file.aligned : join(path, file.aligned)));
  return files;
}

/** Loads several policy folders, freeing the loaded ones if a later one fails. */
function loadAll(dirs: readonly string[], expect: PolicyExpectation): ClpPolicy[] {
  const loaded: ClpPolicy[] = [];
  try {
    for (const dir of dirs) loaded.push(ClpPolicy.load(dir, expect));
  } catch (err) {
    for (const p of loaded) p.dispose();
    throw err;
  }
  return loaded;
}

/**
 * Loads the policy of a run folder or policy folder. `expect.objectives` is checked against every
 * checkpoint involved; the caller disposes the result.
 */
export function loadPolicy(path: string, expect: PolicyExpectation = {}): SteerablePolicy {
  const descriptor = join(path, "policy.json");
  if (!existsSync(descriptor)) {
    const unfinishedRun = ["reward-normalizer.json", "metrics.jsonl", "calibration.json"].some((file) => existsSync(join(path, file)));
    if (unfinishedRun && !existsSync(join(path, "checkpoint"))) {
      throw new CheckpointError(`${path} is a run folder whose training has not finished (no policy.json); finish it with clp train --resume ${path}`);
    }
    if (existsSync(join(path, "config.json")) && !existsSync(join(path, "checkpoint"))) return ClpPolicy.load(path, expect);
    const checkpoint = join(path, "checkpoint");
    if (!existsSync(checkpoint)) {
      throw new CheckpointError(`${path} contains neither policy.json nor checkpoint/; pass a run folder written by clp train or a policy folder`);
    }
    return ClpPolicy.load(checkpoint, expect);
  }
  const file = readRunPolicy(descriptor);
  const dirs = file.checkpoints.map((c) => (isAbsolute(c) ? c : join(path, c)));
  switch (file.kind) {
    case "clp": {
      if (dirs.length !== 1) throw new CheckpointError(`${descriptor}: a clp policy has exactly one checkpoint, found ${dirs.length}`);
      return ClpPolicy.load(dirs[0]!, expect);
    }
    case "rewarded-soups":
    case "logit-mixing":
    case "per-weight": {
      const { variant: _variant, numCopies: _copies, ...shared } = expect;
      const policies = loadAll(dirs, shared);
      try {
        if (file.kind === "rewarded-soups") return new RewardedSoupsPolicy(policies);
        if (file.kind === "logit-mixing") return new LogitMixingPolicy(policies);
        return new PerWeightPolicy(policies);
      } catch (err) {
        for (const p of policies) p.dispose();
        throw err;
      }
    }
    case "dera": {
      if (file.aligned === undefined || file.reference === undefined) {
        throw new CheckpointError(`${descriptor}: a dera policy names its "aligned" run and its "reference" folder`);
      }
      const alignedPath = isAbsolute(file.aligned) ? file.aligned : join(path, file.aligned);
      if (alignedPath === path) throw new PolicyMismatchError(`${descriptor}: "aligned" points at the run itself`);
      const aligned = loadPolicy(alignedPath, { objectives: expect.objectives });
      let reference: Gpt | null = null;
      try {
        reference = loadModelFolder(resolveReferencePath(file.reference)).model;
        return new DeraPolicy(aligned, reference);
      } catch (err) {
        aligned.dispose();
        reference?.dispose();
        throw err;
      }
    }
  }
}
