/**
 * A folder of finished evaluation points, so an interrupted `clp eval` continues where it
 * stopped. Each point is one JSON file named by a hash of what determines it: the policy's files,
 * π_ref's weights and the reward modules (path, size and modification time), the test prompts,
 * the steering input and the evaluation settings. A changed setting, a retrained policy or an
 * edited reward module therefore misses the cache instead of reusing stale numbers.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../model/safetensors.js";
import type { WeightResult } from "./evaluate.js";

/** Evaluation points stored under `dir`, keyed by `identity` plus each point's own fields. */
export class EvalCache {
  constructor(
    readonly dir: string,
    private readonly identity: Record<string, unknown>,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private path(point: Record<string, unknown>): string {
    const key = createHash("sha256").update(JSON.stringify({ ...this.identity, point })).digest("hex").slice(0, 24);
    return join(this.dir, `${key}.json`);
  }

  /** Returns the stored result for `point`, or null when none is stored or the file is unreadable. */
  get(point: Record<string, unknown>): WeightResult | null {
    const path = this.path(point);
    if (!existsSync(path)) return null;
    try {
      return JSON.parse(readFileSync(path, "utf8")) as WeightResult;
    } catch {
      // A file cut short by a crash predates atomic writes or was edited by hand: evaluate again.
      return null;
    }
  }

  /** Stores a finished point; the write is atomic, so a crash leaves the old file or none. */
  set(point: Record<string, unknown>, result: WeightResult): void {
    writeFileAtomic(this.path(point), [Buffer.from(JSON.stringify(result))]);
  }
}
