/** Helpers for Node's file-system errors (the ErrnoException objects with `code` and `syscall`). */

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
