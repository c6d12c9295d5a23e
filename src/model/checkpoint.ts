/**
 * A model folder: config.json (architecture, conditioning and free-form metadata),
 * model.safetensors and tokenizer.json. Folders are written to a temporary sibling and renamed into
 * place, so an interrupted save leaves the previous folder intact.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Tokenizer } from "../tokenizer/bpe.js";
import { ConfigError, validateGptConfig, type GptConfig } from "./config.js";
import type { DeltaSpec } from "./deltas.js";
import { Gpt } from "./gpt.js";
import { CheckpointError, loadSafetensors, saveSafetensors, writeFileAtomic } from "./safetensors.js";

/** Format tag in config.json; bumped when the layout changes incompatibly. */
export const MODEL_FORMAT = "clp-gpt/1";

/** What config.json holds. */
export interface ModelFolderConfig {
  format: string;
  model: GptConfig;
  /** Conditioned parameters (base names) with how each stores its m deltas; null for a plain model. */
  conditioning: { numCopies: number; deltas: Record<string, DeltaSpec> } | null;
  metadata: Record<string, unknown>;
}

/**
 * Saves a model, its tokenizer and metadata to `dir`, replacing any previous folder atomically.
 * When a write fails, the previous folder stays and the partial one is removed.
 */
export function saveModelFolder(dir: string, model: Gpt, tokenizer: Tokenizer, metadata: Record<string, unknown> = {}): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const temp = join(parent, `.${basename(dir)}.partial-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  const config: ModelFolderConfig = {
    format: MODEL_FORMAT,
    model: model.config,
    conditioning: model.deltas.size > 0 ? { numCopies: model.numCopies, deltas: Object.fromEntries(model.deltas) } : null,
    metadata,
  };
  const old = join(parent, `.${basename(dir)}.old-${process.pid}`);
  try {
    writeFileAtomic(join(temp, "config.json"), [Buffer.from(JSON.stringify(config, null, 2) + "\n")]);
    writeFileAtomic(join(temp, "tokenizer.json"), [Buffer.from(tokenizer.toHuggingFaceJson())]);
    saveSafetensors(join(temp, "model.safetensors"), model.params, { format: MODEL_FORMAT });
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(temp, dir);
  } catch (err) {
    // A failed save (a full disk, say) puts the previous folder back and leaves no partial one.
    if (existsSync(old) && !existsSync(dir)) renameSync(old, dir);
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  rmSync(old, { recursive: true, force: true });
}

/** Reads and validates config.json of a model folder. */
export function readModelFolderConfig(dir: string): ModelFolderConfig {
  const path = join(dir, "config.json");
  if (!existsSync(path)) {
    throw new CheckpointError(`${path} not found; a model folder holds config.json, model.safetensors and tokenizer.json`);
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new CheckpointError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (raw.format !== MODEL_FORMAT) {
    throw new CheckpointError(`${path}: field "format" is ${JSON.stringify(raw.format)}; expected "${MODEL_FORMAT}"`);
  }
  const model = validateGptConfig(raw.model, `${path} (field "model")`);
  const c = raw.conditioning as ModelFolderConfig["conditioning"] | undefined;
  if (c !== null && c !== undefined) {
    if (!Number.isInteger(c.numCopies) || c.deltas === null || typeof c.deltas !== "object") {
      throw new CheckpointError(`${path}: field "conditioning" needs an integer "numCopies" and a "deltas" object`);
    }
    for (const [name, spec] of Object.entries(c.deltas)) {
      const valid =
        spec?.kind === "dense" ||
        (spec?.kind === "lowRank" && Number.isInteger(spec.rank) && spec.rank >= 1 && Number.isFinite(spec.scale));
      if (!valid) {
        throw new CheckpointError(`${path}: "conditioning.deltas.${name}" is ${JSON.stringify(spec)}; expected {"kind": "dense"} or {"kind": "lowRank", "rank": r, "scale": s}`);
      }
    }
  }
  return { format: MODEL_FORMAT, model, conditioning: c ?? null, metadata: (raw.metadata as Record<string, unknown>) ?? {} };
}

/** Loads a model folder: the model (parameters kept, owned by the caller), tokenizer and config. */
export function loadModelFolder(dir: string): { model: Gpt; tokenizer: Tokenizer; config: ModelFolderConfig } {
  const config = readModelFolderConfig(dir);
  const tokenizer = Tokenizer.load(join(dir, "tokenizer.json"));
  if (tokenizer.vocabSize !== config.model.vocabSize) {
    throw new ConfigError(
      `${join(dir, "tokenizer.json")} has ${tokenizer.vocabSize} tokens but ${join(dir, "config.json")} field "model.vocabSize" is ${config.model.vocabSize}`,
    );
  }
  const weightsPath = join(dir, "model.safetensors");
  if (!existsSync(weightsPath)) throw new CheckpointError(`${weightsPath} not found`);
  const { tensors } = loadSafetensors(weightsPath);
  try {
    const deltas = new Map(Object.entries(config.conditioning?.deltas ?? {}));
    const model = new Gpt(config.model, tensors, deltas, config.conditioning?.numCopies ?? 0);
    return { model, tokenizer, config };
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    if (err instanceof ConfigError) throw new ConfigError(`${weightsPath}: ${err.message}`);
    throw err;
  }
}
