/**
 * clp train on a real full disk and a real read-only or protected run folder. Each case mounts a
 * small tmpfs and runs the CLI in it until a write fails. It checks the error and what is left on
 * disk, then makes room and resumes to the same parameters and metrics as an uninterrupted run.
 * Mounting needs root (CAP_SYS_ADMIN); without it the test is skipped.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClpPolicy } from "../src/clp/policy.js";
import { writeFileAtomic } from "../src/model/safetensors.js";
import { listCheckpoints, verifyCheckpoint } from "../src/rl/training-state.js";
import { JsonlWriter, truncateJsonl } from "../src/util/jsonl.js";
import { metricsOf, tensorsEqual } from "./support/run-files.js";

const STEPS = 9;

// The tiny run of test/resume.test.ts with lora deltas, whose checkpoints (about 22 MB) keep the
// mounts and the saves small.
const tiny = {
  reference: join(process.cwd(), "models/ref"),
  objectives: ["coverage", "brevity"],
  data: { maxSourceTokens: 48, trainLimit: 200 },
  calibration: { prompts: 4, samplesPerPrompt: 2 },
  conditioning: { variant: "lora" },
  rl: { steps: STEPS, promptsPerStep: 2, samplesPerPrompt: 2, maxNewTokens: 8, lr: 1e-3, checkpointEvery: 1, keepCheckpoints: 2, dirichletAlpha: 0.5 },
  seed: 11,
};

interface ClpResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Child processes still running, killed when a case ends early so its mount can be unmounted. */
const running = new Set<ChildProcess>();

/** Starts the clp CLI, as the user `as` when given (which needs root). */
function startClp(args: string[], as?: { uid: number; gid: number }): { child: ChildProcess; done: Promise<ClpResult> } {
  const child = spawn(process.execPath, [join(process.cwd(), "bin/clp.js"), ...args], { stdio: ["ignore", "pipe", "pipe"], ...as });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ClpResult>((resolveDone) => {
    child.on("close", (status) => {
      running.delete(child);
      resolveDone({ status, stdout, stderr });
    });
  });
  return { child, done };
}

function runClp(args: string[], as?: { uid: number; gid: number }): Promise<ClpResult> {
  return startClp(args, as).done;
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

function mountCommand(args: string[]): { ok: boolean; message: string } {
  const result = spawnSync("mount", args, { encoding: "utf8" });
  return { ok: result.status === 0, message: `${result.stderr ?? ""}${result.error?.message ?? ""}`.trim() };
}

function remount(dir: string, options: string): void {
  const result = mountCommand(["-o", `remount,${options}`, dir]);
  assert.ok(result.ok, `mount -o remount,${options} ${dir} failed: ${result.message}`);
}

/** Used and total pages of the file system holding `dir`. */
function usage(dir: string): { used: number; total: number; pageSize: number } {
  const stats = statfsSync(dir);
  return { used: stats.blocks - stats.bfree, total: stats.blocks, pageSize: stats.bsize };
}

/** Mounts a tmpfs of `bytes` on a new folder, runs `body` in it, then unmounts it whatever happened. */
async function withTmpfs(bytes: number, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "clp-tmpfs-"));
  const mounted = mountCommand(["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  assert.ok(mounted.ok, `mount -t tmpfs on ${dir} failed: ${mounted.message}`);
  try {
    await body(dir);
  } finally {
    for (const child of running) child.kill("SIGKILL");
    while (running.size > 0) await sleep(10);
    if (spawnSync("umount", [dir]).status !== 0) spawnSync("umount", ["-l", dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Pages a folder's files take on a file system with `pageSize` pages (tmpfs allocates whole pages). */
function pagesOf(dir: string, pageSize: number): number {
  let pages = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) pages += Math.ceil(statSync(join(entry.parentPath, entry.name)).size / pageSize);
  }
  return pages;
}

/** Hidden partial folders, temporary files and set-aside folders anywhere under `dir`. */
function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((path) => /(^|\/)\.[^/]*\.(partial|old)-\d+(\/|$)|\.tmp-\d+$/.test(path));
}

const stepName = (step: number) => `step-${String(step).padStart(6, "0")}`;

/**
 * Checks a run that stopped on a failed write. Stderr is one line matching `reason` that names the
 * newest checkpoint and the resume command, with no stack trace. That checkpoint is intact, no
 * partial files are left, and every metrics record equals the uninterrupted run's. Returns the
 * checkpoint's step.
 */
function assertStoppedCleanly(result: ClpResult, runDir: string, reason: RegExp, reference: Record<string, unknown>[]): number {
  assert.equal(result.status, 1, `exit status; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `stderr has one line: ${result.stderr}`);
  const message = lines[0]!;
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
  assert.match(message, reason);
  assert.ok(message.includes(`clp train --resume ${runDir}`), `names the resume command: ${message}`);
  const root = join(runDir, "checkpoints");
  const newest = listCheckpoints(root)[0];
  assert.ok(newest !== undefined, "a checkpoint remains");
  assert.ok(message.includes(join(root, newest)), `names the newest checkpoint ${newest}: ${message}`);
  assert.equal(verifyCheckpoint(join(root, newest)), null);
  assert.deepEqual(leftovers(runDir), []);
  const metrics = metricsOf(runDir);
  const step = Number(newest.slice("step-".length));
  assert.ok(metrics.length >= step, `metrics.jsonl has ${metrics.length} records, the checkpoint ${step} steps`);
  assert.deepEqual(metrics, reference.slice(0, metrics.length));
  return step;
}

/** Checks that a resumed run ended with the uninterrupted run's parameters and metrics. */
function assertSameAsReference(runDir: string, referenceDir: string): void {
  tensorsEqual(join(runDir, "checkpoint", "model.safetensors"), join(referenceDir, "checkpoint", "model.safetensors"));
  assert.deepEqual(metricsOf(runDir), metricsOf(referenceDir));
  assert.deepEqual(leftovers(runDir), []);
}

/** Returns true when the process may mount a tmpfs. */
function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), "clp-tmpfs-probe-"));
  try {
    if (!mountCommand(["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).ok) return false;
    spawnSync("umount", [dir]);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("clp train on a full or read-only disk", async (t: TestContext) => {
  if (!canMountTmpfs()) {
    t.skip("the disk-full test needs a tmpfs mount (root or CAP_SYS_ADMIN)");
    return;
  }
  const work = mkdtempSync(join(tmpdir(), "clp-disk-full-"));
  try {
    const configPath = join(work, "tiny.json");
    writeFileSync(configPath, JSON.stringify(tiny));
    const referenceDir = join(work, "reference");
    const straight = await runClp(["train", "--config", configPath, "--run-dir", referenceDir, "--no-eval", "--quiet"]);
    assert.equal(straight.status, 0, straight.stderr);
    const reference = metricsOf(referenceDir);
    assert.equal(reference.length, STEPS);
    const pageSize = 4096;
    const checkpointPages = pagesOf(join(referenceDir, "checkpoints", stepName(STEPS)), pageSize);
    // Room for every case once it resumes: three checkpoints while one is saved, the final policy
    // and a few small files.
    const roomy = 5 * checkpointPages * pageSize;

    await t.test("checkpoint save runs out of space", async () => {
      // Two checkpoints fit, but saving a third before the oldest is deleted does not, so the
      // save of step 3 fails and step 2 is the newest intact checkpoint.
      await withTmpfs(Math.floor(2.5 * checkpointPages) * pageSize, async (mount) => {
        const runDir = join(mount, "run");
        const failed = await runClp(["train", "--config", configPath, "--run-dir", runDir, "--no-eval", "--quiet"]);
        const step = assertStoppedCleanly(failed, runDir, /disk .*is full.*ENOSPC: no space left on device/, reference);
        assert.equal(step, 2);
        assert.deepEqual(listCheckpoints(join(runDir, "checkpoints")), [stepName(2), stepName(1)]);
        assert.equal(metricsOf(runDir).length, 3);
        remount(mount, `size=${roomy}`);
        const resumed = await runClp(["train", "--resume", runDir, "--no-eval", "--quiet"]);
        assert.equal(resumed.status, 0, resumed.stderr);
        assertSameAsReference(runDir, referenceDir);
      });
    });

    await t.test("metrics append runs out of space", async () => {
      // tmpfs allocates whole pages, so an append fails only when it needs a new page. The
      // reference metrics show which step's record crosses the first page boundary. The run stops
      // just before that step, the disk is made exactly full, and the resumed run must fail there.
      const ends: number[] = [];
      for (const line of readFileSync(join(referenceDir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean)) {
        ends.push((ends.at(-1) ?? 0) + Buffer.byteLength(line) + 1);
      }
      const crossing = ends.findIndex((end) => end > pageSize) + 1;
      assert.ok(crossing >= 3, `step ${crossing}'s metrics record crosses the first page`);
      assert.ok(crossing <= STEPS, "a metrics record of the run crosses the first page");
      // Timing fields change record lengths by a few bytes between runs.
      assert.ok(ends[crossing - 2]! < pageSize - 64, `step ${crossing - 1}'s record ends well before the page boundary`);
      assert.ok(ends[crossing - 1]! > pageSize + 64, `step ${crossing}'s record ends well after the page boundary`);
      await withTmpfs(roomy, async (mount) => {
        const runDir = join(mount, "run");
        const first = await runClp(["train", "--config", configPath, "--run-dir", runDir, "--steps", String(crossing - 1), "--no-eval", "--quiet"]);
        assert.equal(first.status, 0, first.stderr);
        // Extends the run in its config.json while there is room, so the resume below rewrites
        // nothing before its first metrics record.
        const savedConfig = JSON.parse(readFileSync(join(runDir, "config.json"), "utf8")) as { rl: { steps: number } };
        savedConfig.rl.steps = STEPS;
        writeFileSync(join(runDir, "config.json"), JSON.stringify(savedConfig, null, 2) + "\n");
        const { used, pageSize: tmpfsPage } = usage(mount);
        assert.equal(tmpfsPage, pageSize);
        remount(mount, `size=${used * pageSize}`);
        assert.equal(usage(mount).total - usage(mount).used, 0, "the disk is full");
        const failed = await runClp(["train", "--resume", runDir, "--no-eval", "--quiet"]);
        const step = assertStoppedCleanly(failed, runDir, /disk .*is full.*ENOSPC: no space left on device.*metrics\.jsonl/, reference);
        assert.equal(step, crossing - 1);
        assert.equal(metricsOf(runDir).length, crossing - 1, "the record that did not fit is not kept in part");
        remount(mount, `size=${roomy}`);
        const resumed = await runClp(["train", "--resume", runDir, "--no-eval", "--quiet"]);
        assert.equal(resumed.status, 0, resumed.stderr);
        assertSameAsReference(runDir, referenceDir);
      });
    });

    await t.test("run folder turns read-only", async () => {
      await withTmpfs(roomy, async (mount) => {
        const runDir = join(mount, "run");
        const root = join(runDir, "checkpoints");
        const training = startClp(["train", "--config", configPath, "--run-dir", runDir, "--no-eval", "--quiet"]);
        const pid = training.child.pid!;
        while (!existsSync(join(root, stepName(2))) && training.child.exitCode === null) await sleep(10);
        assert.equal(training.child.exitCode, null, "training still runs after its second checkpoint");
        // Remounts read-only while the process is stopped outside a save: a save caught half-way
        // could not delete its partial folder on a read-only file system. The remount fails with
        // EBUSY while a file is open for writing, so it is retried.
        for (let attempt = 0; ; attempt++) {
          assert.ok(attempt < 500, "found a moment to remount read-only");
          process.kill(pid, "SIGSTOP");
          if (leftovers(runDir).length === 0 && mountCommand(["-o", "remount,ro", mount]).ok) break;
          process.kill(pid, "SIGCONT");
          await sleep(5);
        }
        const stoppedAt = metricsOf(runDir).length;
        process.kill(pid, "SIGCONT");
        const failed = await training.done;
        assert.ok(stoppedAt < STEPS, `the remount came before the last step (after ${stoppedAt})`);
        const step = assertStoppedCleanly(failed, runDir, new RegExp(`${runDir} is on a read-only file system.*EROFS`), reference);
        assert.ok(step >= 2);
        remount(mount, "rw");
        const resumed = await runClp(["train", "--resume", runDir, "--no-eval", "--quiet"]);
        assert.equal(resumed.status, 0, resumed.stderr);
        assertSameAsReference(runDir, referenceDir);
      });
    });

    await t.test("run folder without write permission", async (st) => {
      const ids = ["-u", "-g"].map((flag) => spawnSync("id", [flag, "nobody"], { encoding: "utf8" }));
      if (ids.some((id) => id.status !== 0)) {
        st.skip("needs the user nobody to run clp without write permission on the run folder");
        return;
      }
      const nobody = { uid: Number(ids[0]!.stdout), gid: Number(ids[1]!.stdout) };
      const dir = mkdtempSync(join(tmpdir(), "clp-denied-"));
      try {
        chmodSync(dir, 0o755);
        const runDir = join(dir, "run");
        const first = await runClp(["train", "--config", configPath, "--run-dir", runDir, "--steps", "2", "--no-eval", "--quiet"]);
        assert.equal(first.status, 0, first.stderr);
        // The run folder belongs to root, so the user nobody may read it but not write in it.
        const failed = await runClp(["train", "--resume", runDir, "--steps", String(STEPS), "--no-eval", "--quiet"], nobody);
        const step = assertStoppedCleanly(failed, runDir, new RegExp(`writing in ${runDir} was denied.*EACCES: permission denied.*Give this user write permission on ${runDir}`), reference);
        assert.equal(step, 2);
        const resumed = await runClp(["train", "--resume", runDir, "--steps", String(STEPS), "--no-eval", "--quiet"]);
        assert.equal(resumed.status, 0, resumed.stderr);
        assertSameAsReference(runDir, referenceDir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    await t.test("policy save runs out of space", async () => {
      const source = join(referenceDir, "checkpoint");
      const policyPages = pagesOf(source, pageSize);
      // One policy folder fits; a second one, written beside it before the swap, does not.
      await withTmpfs(Math.floor(1.5 * policyPages) * pageSize, async (mount) => {
        const target = join(mount, "checkpoint");
        const policy = ClpPolicy.load(source);
        try {
          policy.save(target);
          assert.throws(() => policy.save(target), (err: NodeJS.ErrnoException) => {
            assert.equal(err.code, "ENOSPC");
            assert.match(err.message, new RegExp(`no space left on device, write '${mount}/\\.checkpoint\\.partial-\\d+/`));
            return true;
          });
        } finally {
          policy.dispose();
        }
        assert.deepEqual(readdirSync(mount), ["checkpoint"], "no partial folder is left");
        tensorsEqual(join(target, "model.safetensors"), join(source, "model.safetensors"));
        ClpPolicy.load(target).dispose();

        // An atomic write that does not fit keeps the old file and leaves no temporary file.
        const file = join(mount, "small.json");
        writeFileAtomic(file, [Buffer.from("{}\n")]);
        const free = (usage(mount).total - usage(mount).used) * pageSize;
        assert.throws(() => writeFileAtomic(file, [Buffer.alloc(free + pageSize)]), (err: NodeJS.ErrnoException) => {
          assert.equal(err.code, "ENOSPC");
          assert.ok(err.message.includes(`'${file}'`), err.message);
          return true;
        });
        assert.equal(readFileSync(file, "utf8"), "{}\n");
        assert.deepEqual(readdirSync(mount).sort(), ["checkpoint", "small.json"]);
      });
    });

    await t.test("metrics file on a full disk", async () => {
      await withTmpfs(1 << 20, async (mount) => {
        const path = join(mount, "metrics.jsonl");
        const writer = new JsonlWriter(path);
        // Three records of about 1.4 kB end part-way into the second page.
        for (let step = 1; step <= 3; step++) writer.write({ step, text: "x".repeat(1400) });
        const size = statSync(path).size;
        assert.ok(size > pageSize, `${size} bytes reach into the second page`);
        assert.ok(size < 2 * pageSize - 64, `${size} bytes leave room in the second page`);
        remount(mount, `size=${usage(mount).used * pageSize}`);
        // The next record fills the second page and fails for want of a third.
        assert.throws(() => writer.write({ step: 4, text: "x".repeat(pageSize) }), (err: NodeJS.ErrnoException) => {
          assert.equal(err.code, "ENOSPC");
          assert.ok(err.message.includes(`'${path}'`), err.message);
          return true;
        });
        assert.equal(statSync(path).size, size, "the failed record is not kept in part");
        // Cutting records off needs no free space.
        truncateJsonl(path, 2);
        const steps = readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => (JSON.parse(line) as { step: number }).step);
        assert.deepEqual(steps, [1, 2]);
        assert.deepEqual(readdirSync(mount), ["metrics.jsonl"]);
      });
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
