/**
 * One training process per run folder: `clp train` holds RUN/.lock while it writes the folder, so
 * a second process on the same folder stops before it writes anything. A lock left by a process
 * that no longer runs (killed with SIGKILL, say) is taken over. The lock is a symbolic link whose
 * target is the process id: creating one is atomic and needs no data block, so a run can still
 * take it on a full disk and report what the disk refuses next.
 */
import { readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ClpConfigError } from "../clp/config.js";

/** Name of the lock file inside a run folder. */
export const LOCK_FILE = ".lock";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Returns the process id a lock names, or null when there is no lock (or it is not one). */
function lockOwner(path: string): number | null {
  let target: string;
  try {
    target = readlinkSync(path);
  } catch {
    return null;
  }
  const pid = Number(target);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Returns the id of another live process that holds the folder's lock, or null. */
function holder(runDir: string): number | null {
  const pid = lockOwner(join(runDir, LOCK_FILE));
  return pid !== null && pid !== process.pid && isRunning(pid) ? pid : null;
}

function inUse(runDir: string, pid: number): ClpConfigError {
  return new ClpConfigError(
    `run folder ${runDir} is in use by another clp train (process ${pid}); wait for it to finish or stop it, or choose another --run-dir. ` +
      `If no clp train uses the folder, process ${pid} is another program and the lock is left over: delete ${join(runDir, LOCK_FILE)}`,
  );
}

/** Throws when another live process holds the folder's lock. */
export function assertRunFolderFree(runDir: string): void {
  const pid = holder(runDir);
  if (pid !== null) throw inUse(runDir, pid);
}

/**
 * Takes the lock of an existing folder `runDir` and returns the function that releases it.
 * Throws a ClpConfigError when another live process holds it.
 */
export function lockRunFolder(runDir: string): () => void {
  const path = join(runDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      symlinkSync(String(process.pid), path);
      return () => {
        if (lockOwner(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      const { code, syscall } = err as NodeJS.ErrnoException;
      // Node names the link's target as the path of a failed symlink; the lock file is the one meant.
      if (code !== "EEXIST") {
        const message = (err as Error).message.replace(/, symlink .*$/, `, creating the run folder's lock '${path}'`);
        throw Object.assign(new Error(message, { cause: err }), { code, syscall, path });
      }
      const pid = holder(runDir);
      if (pid !== null) throw inUse(runDir, pid);
      // A lock of a process that is gone (or a stray file of that name): remove it, try again.
      rmSync(path, { force: true });
    }
  }
  throw inUse(runDir, lockOwner(path) ?? 0);
}
