/**
 * Errors for failed writes into a run folder: a full disk, an exceeded quota, a read-only file
 * system or missing permission. Each message names the problem, the newest checkpoint a resumed
 * run continues from, and the command that resumes it.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { listCheckpoints, verifyCheckpoint } from "./training-state.js";

/** Thrown when training stops because a file in the run folder could not be written. */
export class RunWriteError extends Error {
  constructor(
    message: string,
    /** The file-system error code: ENOSPC, EDQUOT, EROFS, EACCES or EPERM. */
    readonly code: string,
    /** The newest checkpoint that passes its manifest, or null when the run has none. */
    readonly checkpoint: string | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "RunWriteError";
  }
}

/**
 * Problem and fix for each error code, as sentence parts that name the run folder.
 * NOTE: test/disk-full.test.ts raises ENOSPC, EROFS and EACCES for real. No test exercises EDQUOT
 * or EPERM.
 */
const WRITE_FAILURES: Record<string, { problem: (runDir: string) => string; fix: (runDir: string) => string }> = {
  ENOSPC: { problem: (dir) => `the disk holding ${dir} is full`, fix: () => "Free disk space" },
  EDQUOT: { problem: (dir) => `the disk quota for ${dir} is exceeded`, fix: () => "Free space or raise the quota" },
  EROFS: { problem: (dir) => `${dir} is on a read-only file system`, fix: () => "Remount the file system read-write" },
  EACCES: { problem: (dir) => `writing in ${dir} was denied`, fix: (dir) => `Give this user write permission on ${dir}` },
  EPERM: { problem: (dir) => `writing in ${dir} was not permitted`, fix: (dir) => `Give this user write permission on ${dir}` },
};

/** Returns the first file-system error in the chain of `err` and its causes. */
function fileSystemCause(err: unknown): NodeJS.ErrnoException | null {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (typeof (e as NodeJS.ErrnoException).code === "string" && typeof (e as NodeJS.ErrnoException).syscall === "string") return e;
  }
  return null;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Returns the newest checkpoint of the run that passes its manifest: the run's own
 * `checkpoints/` for CLP, or those of its experts and per-weight policies, whichever was saved last.
 */
export function newestIntactCheckpoint(runDir: string): string | null {
  const roots = [join(runDir, "checkpoints")];
  for (const group of ["experts", "per-weight"]) {
    const dir = join(runDir, group);
    if (existsSync(dir)) roots.push(...readdirSync(dir).map((name) => join(dir, name, "checkpoints")));
  }
  let newest: { dir: string; savedAt: number } | null = null;
  for (const root of roots) {
    const intact = listCheckpoints(root).map((name) => join(root, name)).find((dir) => verifyCheckpoint(dir) === null);
    if (intact === undefined) continue;
    const savedAt = statSync(intact).mtimeMs;
    if (newest === null || savedAt > newest.savedAt) newest = { dir: intact, savedAt };
  }
  return newest?.dir ?? null;
}

/**
 * Returns a RunWriteError for `err` when it, or an error it wraps, is a failed write into
 * `runDir`, and null for any other error. An error that names no path (Node's `write` errors
 * do not) counts only for ENOSPC and EDQUOT, which no read raises.
 */
export function runWriteError(err: unknown, runDir: string): RunWriteError | null {
  const cause = fileSystemCause(err);
  if (cause === null || cause.code === undefined) return null;
  const failure = WRITE_FAILURES[cause.code];
  if (failure === undefined) return null;
  const namesPath = typeof cause.path === "string";
  if (namesPath ? !isInside(cause.path!, runDir) : cause.code !== "ENOSPC" && cause.code !== "EDQUOT") return null;
  const checkpoint = newestIntactCheckpoint(runDir);
  const resumable = existsSync(join(runDir, "config.json")) && existsSync(join(runDir, "reward-normalizer.json"));
  let next: string;
  if (!resumable) next = `${failure.fix(runDir)}, then remove ${runDir} and start the run again with clp train --config`;
  else if (checkpoint === null) next = `No checkpoint was saved yet, so a resumed run starts at step 0. ${failure.fix(runDir)}, then continue with: clp train --resume ${runDir}`;
  else next = `The newest intact checkpoint is ${checkpoint}. ${failure.fix(runDir)}, then continue with: clp train --resume ${runDir}`;
  return new RunWriteError(`training stopped because ${failure.problem(runDir)} (${cause.message}). ${next}`, cause.code, checkpoint, { cause: err });
}
