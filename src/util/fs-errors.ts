/**
 * Helpers for Node's file-system errors (the ErrnoException objects with `code` and `syscall`),
 * and the atomic file write that reports them with the path.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Returns a copy of a file-system error that names `path`. Node's errors from calls on a file
 * descriptor (write, fsync, ftruncate, close) carry no path, so the copy takes Node's format for
 * calls that take one: "ENOSPC: no space left on device, write '/runs/a/metrics.jsonl'". Errors
 * that already name a path, and values that are not file-system errors, are returned unchanged.
 */
export function withPath(err: unknown, path: string): unknown {
  if (!(err instanceof Error)) return err;
  const { code, errno, syscall, path: known } = err as NodeJS.ErrnoException;
  if (typeof code !== "string" || typeof known === "string") return err;
  return Object.assign(new Error(`${err.message} '${path}'`, { cause: err }), { code, errno, syscall, path });
}

/**
 * Writes byte chunks to `path` through a fsynced temporary file and a rename. When a write fails
 * (a full disk, say), the temporary file is removed, `path` keeps its old contents and the error
 * names `path`.
 */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[]): void {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(temp, "w");
    try {
      for (const chunk of chunks) {
        let written = 0;
        while (written < chunk.byteLength) written += writeSync(fd, chunk, written);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw withPath(err, path);
  }
  const dirFd = openSync(dirname(path), "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Writes `text` to `path` as UTF-8 with `writeFileAtomic`. */
export function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, [Buffer.from(text)]);
}
