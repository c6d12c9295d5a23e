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

/** Name of the lock a process holds while it replaces a left-over `.lock`. */
export const TAKEOVER_FILE = ".lock.takeover";

const pause = new Int32Array(new SharedArrayBuffer(4));

function symlinkError(err: unknown, path: string): Error {
  const { code, syscall } = err as NodeJS.ErrnoException;
  // Node names the link's target as the path of a failed symlink; the lock file is the one meant.
  const message = (err as Error).message.replace(/, symlink .*$/, `, creating the run folder's lock '${path}'`);
  return Object.assign(new Error(message, { cause: err }), { code, syscall, path });
}

/** Creates the symbolic link `path` naming this process; false when it exists already. */
function createLink(path: string): boolean {
  try {
    symlinkSync(String(process.pid), path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw symlinkError(err, path);
  }
}

/**
 * Takes the lock of an existing folder `runDir` and returns the function that releases it.
 * Throws a ClpConfigError when another live process holds it.
 *
 * A left-over lock is replaced only by the process holding RUN/.lock.takeover, and only after it
 * has read the lock again under that second lock. Two processes that find the same left-over lock
 * at once therefore cannot both remove it and both go on: one replaces it and the other then finds
 * a live holder.
 */
export function lockRunFolder(runDir: string): () => void {
  const path = join(runDir, LOCK_FILE);
  const takeoverPath = join(runDir, TAKEOVER_FILE);
  const release = () => {
    if (lockOwner(path) === process.pid) rmSync(path, { force: true });
  };
  // Another process replacing a left-over lock holds the takeover lock for a few system calls.
  for (let attempt = 0; attempt < 500; attempt++) {
    if (createLink(path)) return release;
    const pid = holder(runDir);
    if (pid !== null) throw inUse(runDir, pid);
    if (!createLink(takeoverPath)) {
      const replacing = lockOwner(takeoverPath);
      if (replacing !== null && replacing !== process.pid && !isRunning(replacing)) {
        throw new ClpConfigError(
          `run folder ${runDir} has a left-over lock ${path} and a takeover lock ${takeoverPath} of process ${replacing}, which no longer runs; ` +
            `if no clp train uses the folder, delete both files and start again`,
        );
      }
      Atomics.wait(pause, 0, 0, 5);
      continue;
    }
    try {
      // Under the takeover lock no other process removes `.lock`, so one more read is current.
      const owner = holder(runDir);
      if (owner !== null) throw inUse(runDir, owner);
      rmSync(path, { force: true });
      if (createLink(path)) return release;
    } finally {
      rmSync(takeoverPath, { force: true });
    }
  }
  throw inUse(runDir, lockOwner(path) ?? lockOwner(takeoverPath) ?? 0);
}
