// Scoring with a time limit: rewards run in a worker thread, so a reward that hangs (an endless
// loop, a stuck synchronous call) can be stopped and named instead of freezing training. A reward
// that crashes the thread (process.exit, a full heap, an error thrown from a timer) ends only the
// worker, which is replaced, and a crash inside a call is named like a hang.

import { Worker } from "node:worker_threads";
import { RewardModuleError } from "./modules.js";
import { defaultRegistry, type RewardRegistry } from "./registry.js";
import { rowsBySample, scoreAll, scoreAllPerSample } from "./score.js";
import { RewardError, truncateText, type RewardFunction, type RewardInput } from "./types.js";
import {
  deserializeError,
  PHASE_SCORING,
  PROGRESS_CALLS,
  PROGRESS_LENGTH,
  PROGRESS_PHASE,
  PROGRESS_REWARD,
  PROGRESS_SAMPLE,
  serializeError,
  toRewardError,
  type ScoreRequest,
  type WorkerReply,
  type WorkerSetup,
} from "./worker-protocol.js";

/** Options of `RewardScorer.open`. */
export interface RewardScorerOptions {
  /**
   * Seconds one call into a reward (`score` on a sample, or `scoreBatch`) may take before it counts
   * as hung. Loading the rewards in the worker has the same limit. 0 scores on the calling thread
   * with no limit.
   */
  timeoutSeconds: number;
  /** The registry the rewards were taken from, to find their modules; the default registry when omitted. */
  registry?: RewardRegistry;
  /** The advice that ends the message of a hang, naming the setting to raise; "raise the time-out" when omitted. */
  raiseHint?: string;
}

/** Scores of a batch in which some samples may be unscorable. */
export interface ScoredRows {
  /** One row of reward values per sample (columns in reward order), or null where any reward failed. */
  rows: (number[] | null)[];
  /**
   * The failures, grouped by reward, each in sample order. A scoreBatch call that hung or crashed
   * the worker ends its reward's group, with `sampleIndex` undefined, even when `score` then
   * scored every sample.
   */
  errors: RewardError[];
}

/**
 * Error raised by `scoreAll` and `scorePerSample` when their AbortSignal aborts a request; the
 * worker is terminated, and the signal's reason is the cause.
 */
export class ScoringAborted extends Error {
  override readonly name = "ScoringAborted";

  constructor(reason?: unknown) {
    super("reward scoring was aborted", reason === undefined ? undefined : { cause: reason });
  }
}

/** A running worker and what its permanent listeners saw. */
interface WorkerHandle {
  worker: Worker;
  progress: Int32Array;
  /** The last error the worker raised (its 'error' event), if any. */
  error: Error | null;
  /** The worker's exit code once it has exited, else null. */
  exitCode: number | null;
  /** Set while a request waits for the reply; called once when the worker exits. */
  onExit: ((code: number) => void) | null;
  /** True once the scorer has asked the worker to stop. */
  stopping: boolean;
}

/**
 * A request that ended without a reply: the watchdog saw no progress ("hung"), or the worker
 * died ("crashed"). The fields are read from the shared progress counters at that moment.
 */
interface Fault {
  kind: "hung" | "crashed";
  /** Whether a reward call started during this request, so the counters name the running call. */
  inCall: boolean;
  /** The reward of the current call, or while loading, the index of the reward being loaded. */
  rewardIndex: number;
  /** The sample of the current call, or -1 for scoreBatch. */
  sampleIndex: number;
  /** Why the worker died: its error message, or else its exit code; empty for a hang. */
  cause: string;
  /** The worker's exit code, or null for a hang. */
  exitCode: number | null;
  /** Calls made in the worker since it started, to tell whether any reward was called. */
  calls: number;
}

/** Time the watchdog allows a worker to stop before giving up on it. */
const TERMINATE_GRACE_MS = 5000;

/** Exit code of a Node thread whose top-level await never settled. */
const UNSETTLED_TOP_LEVEL_AWAIT = 13;

function exitCause(handle: WorkerHandle, code: number): string {
  if (handle.error !== null) return handle.error.message;
  return `it exited with code ${code}`;
}

/**
 * Scores batches with a fixed list of rewards. With a positive time limit the rewards run in a
 * worker thread. A call that makes no progress for `timeoutSeconds`, or during which the worker
 * dies, is a failure of that reward on that sample and is reported like any other reward failure.
 * The worker is then replaced, and so is a worker that dies between requests.
 * Rewards registered in code (not built in and not loaded from a module) cannot be loaded in
 * another thread, so they are scored on the calling thread and `unlimitedReason` gives the reason.
 */
export class RewardScorer {
  /** The running worker, or null when the next request starts one. */
  private current: WorkerHandle | null = null;
  /** Receives notes on faults that fail no sample, such as a worker that dies between batches. */
  warn: (message: string) => void = () => {};

  private constructor(
    readonly rewards: readonly RewardFunction[],
    private readonly timeoutMs: number,
    private readonly sources: WorkerSetup["rewards"] | null,
    /** The reason the rewards run without a time limit, or null when they run in a worker. */
    readonly unlimitedReason: string | null,
    private readonly raiseHint: string,
  ) {}

  /**
   * Prepares scoring of `rewards`; with a time limit, starts the worker and loads the rewards in
   * it. Throws a RewardModuleError naming the module when the worker cannot load it.
   */
  static async open(rewards: readonly RewardFunction[], options: RewardScorerOptions): Promise<RewardScorer> {
    const { timeoutSeconds } = options;
    if (!(Number.isFinite(timeoutSeconds) && timeoutSeconds >= 0)) {
      throw new RangeError(`reward time-out ${timeoutSeconds} s is invalid; give a number of seconds ≥ 0 (0: no limit)`);
    }
    const raiseHint = options.raiseHint ?? "raise the time-out";
    if (timeoutSeconds === 0) return new RewardScorer(rewards, 0, null, "the reward time-out is 0", raiseHint);
    const registry = options.registry ?? defaultRegistry;
    const sources = rewards.map((reward) => ({
      name: reward.name,
      from: registry.has(reward.name) && registry.get(reward.name) === reward ? registry.loadableFrom(reward.name) : null,
    }));
    const inCode = sources.find((source) => source.from === null);
    if (inCode !== undefined) {
      const reason =
        `reward "${inCode.name}" was registered in code, so it is scored on this thread and a hang cannot be stopped; ` +
        `export it from a module named in "rewardModules" to score it under the time-out`;
      return new RewardScorer(rewards, 0, null, reason, raiseHint);
    }
    const scorer = new RewardScorer(rewards, timeoutSeconds * 1000, sources as WorkerSetup["rewards"], null, raiseHint);
    await scorer.start();
    return scorer;
  }

  /**
   * Scores every input with every reward; the first failure raises a RewardError. Rows are
   * samples. When `signal` aborts while the worker scores, the worker is terminated and the call
   * raises ScoringAborted. Rewards scored on the calling thread cannot be interrupted, so there
   * the signal is checked only before scoring starts.
   */
  async scoreAll(inputs: readonly RewardInput[], signal?: AbortSignal): Promise<number[][]> {
    if (signal?.aborted) throw new ScoringAborted(signal.reason);
    if (this.sources === null) return scoreAll(this.rewards, inputs);
    const byReward = await this.request(inputs, "stop", signal);
    return rowsBySample(byReward.values, inputs.length) as number[][];
  }

  /**
   * Scores every input with every reward. A sample that any reward fails on (throws, returns an
   * invalid value, hangs or crashes the worker) gets a null row, and its errors are returned
   * instead of raised. `signal` works as in `scoreAll`.
   */
  async scorePerSample(inputs: readonly RewardInput[], signal?: AbortSignal): Promise<ScoredRows> {
    if (signal?.aborted) throw new ScoringAborted(signal.reason);
    if (this.sources === null) return scoreAllPerSample(this.rewards, inputs);
    const scored = await this.request(inputs, "skip", signal);
    return { rows: rowsBySample(scored.values, inputs.length), errors: scored.errors };
  }

  /** Stops the worker. The scorer starts a new one if it is used again. */
  async close(): Promise<void> {
    await this.stopWorker();
  }

  /**
   * Starts a worker and waits until it has loaded the rewards. The listeners stay attached for
   * the worker's life, so a worker that dies between requests never raises an unhandled 'error'
   * event. Its exit clears `current` and, outside a request, is reported through `warn`.
   */
  private async start(signal?: AbortSignal): Promise<WorkerHandle> {
    const buffer = new SharedArrayBuffer(PROGRESS_LENGTH * Int32Array.BYTES_PER_ELEMENT);
    const setup: WorkerSetup = { rewards: this.sources!, progress: buffer };
    // No resourceLimits: on Node 20.20 a worker that runs out of heap (at the process's limit)
    // already ends with ERR_WORKER_OUT_OF_MEMORY and leaves this thread running.
    const worker = new Worker(new URL("./score-worker.js", import.meta.url), { workerData: setup });
    worker.unref();
    const handle: WorkerHandle = { worker, progress: new Int32Array(buffer), error: null, exitCode: null, onExit: null, stopping: false };
    worker.on("error", (error) => {
      handle.error = error;
    });
    worker.on("exit", (code) => {
      handle.exitCode = code;
      if (this.current === handle) this.current = null;
      const onExit = handle.onExit;
      handle.onExit = null;
      if (onExit !== null) onExit(code);
      else if (!handle.stopping) this.warn(`the reward worker stopped between batches (${handle.error?.message ?? `exit code ${code}`}); a reward may leave a timer or promise behind that fails later. A new worker scores the next batch`);
    });
    this.current = handle;
    const reply = await this.exchange(handle, null, signal);
    if (reply.kind === "ready") return handle;
    const error = reply.kind === "aborted" ? new ScoringAborted(reply.reason) : this.loadError(reply, handle);
    await this.stopWorker();
    throw error;
  }

  private async stopWorker(): Promise<void> {
    const handle = this.current;
    this.current = null;
    if (handle === null) return;
    handle.onExit = null;
    handle.stopping = true;
    await Promise.race([handle.worker.terminate(), new Promise((resolveLater) => setTimeout(resolveLater, TERMINATE_GRACE_MS).unref())]);
  }

  /**
   * Sends one batch. A call that hangs or crashes the worker raises in "stop" mode. In "skip"
   * mode it fails its sample, and a new worker scores the batch again without making that call.
   * A worker that hangs or dies outside any reward call, from a timer or promise that a reward
   * left behind, is replaced and the batch sent again once. A second such fault raises.
   */
  private async request(
    inputs: readonly RewardInput[],
    mode: "stop" | "skip",
    signal: AbortSignal | undefined,
  ): Promise<{ values: (number | null)[][]; errors: RewardError[] }> {
    const request: ScoreRequest = { inputs: [...inputs], mode, hung: [] };
    let faultsOutsideCalls = 0;
    for (;;) {
      // A worker that dies just after loading is cleared from `current`, but the handle returned
      // by start still reports the crash to the request.
      const handle = this.current ?? (await this.start(signal));
      const reply = await this.exchange(handle, request, signal);
      if (reply.kind === "scores") return { values: reply.values, errors: reply.errors.map(toRewardError) };
      if (reply.kind === "failed") throw deserializeError(reply.error);
      if (reply.kind === "ready") throw new Error(`the reward worker sent "${reply.kind}" instead of scores`);
      if (this.current === handle) await this.stopWorker();
      if (reply.kind === "aborted") throw new ScoringAborted(reply.reason);
      if (!reply.inCall) {
        faultsOutsideCalls += 1;
        if (faultsOutsideCalls < 2) {
          this.warn(`the reward worker ${reply.kind === "hung" ? "stopped responding" : "crashed"} outside any reward call; scoring the batch again in a new worker`);
          continue;
        }
        throw this.outsideCallError(reply);
      }
      const error = this.callError(reply, inputs);
      const again = request.hung.some((h) => h.rewardIndex === reply.rewardIndex && h.sampleIndex === reply.sampleIndex);
      if (mode === "stop" || again) throw error;
      request.hung.push({ rewardIndex: reply.rewardIndex, sampleIndex: reply.sampleIndex, error: serializeError(error) });
    }
  }

  /** Builds the RewardError of a call that hung or during which the worker died. */
  private callError(fault: Fault, inputs: readonly RewardInput[]): RewardError {
    const reward = this.rewards[fault.rewardIndex]!;
    const limit = `${this.timeoutMs / 1000} s`;
    const slowHint = `${this.raiseHint} if it is only slow`;
    if (fault.sampleIndex < 0) {
      const message =
        fault.kind === "hung"
          ? `reward "${reward.name}" did not return from scoreBatch on ${inputs.length} samples within ${limit}; ${slowHint}`
          : `reward "${reward.name}" crashed the reward worker in scoreBatch on ${inputs.length} samples: ${fault.cause}`;
      return new RewardError(message, { rewardName: reward.name });
    }
    const summary = truncateText(inputs[fault.sampleIndex]?.summary ?? "");
    const sample = `sample ${fault.sampleIndex} (summary ${JSON.stringify(summary)})`;
    const message =
      fault.kind === "hung"
        ? `reward "${reward.name}" did not return within ${limit} on ${sample}; ${slowHint}`
        : `reward "${reward.name}" crashed the reward worker on ${sample}: ${fault.cause}`;
    return new RewardError(message, { rewardName: reward.name, sampleIndex: fault.sampleIndex, summary });
  }

  /**
   * Builds the RewardError of a second worker that hung or died outside any reward call. No
   * sample is to blame; the reward of the worker's last call, if any, is the likely cause.
   */
  private outsideCallError(fault: Fault): RewardError {
    const what =
      fault.kind === "hung"
        ? `did not respond within ${this.timeoutMs / 1000} s outside any reward call twice in a row`
        : `crashed outside any reward call twice in a row (${fault.cause})`;
    const last = fault.calls > 0 ? this.rewards[fault.rewardIndex] : undefined;
    const after = last === undefined ? "" : `, after a call of reward "${last.name}"`;
    return new RewardError(
      `the reward worker ${what}${after}; a reward module may leave behind a timer, promise or listener that blocks or throws`,
      { rewardName: last?.name ?? this.rewards.map((reward) => reward.name).join(", ") },
    );
  }

  /** Builds the RewardModuleError of a worker that could not load the rewards. */
  private loadError(reply: Exclude<WorkerReply, { kind: "ready" }> | Fault, handle: WorkerHandle): RewardModuleError {
    // While loading, the reward counter contains the index of the reward whose module is imported.
    const from = this.sources![Atomics.load(handle.progress, PROGRESS_REWARD)]?.from ?? "built-in";
    const details = { modulePath: from, resolvedPath: from };
    const workerHint =
      "the reward worker imports each reward module again, so the module must also load in a worker thread " +
      "(a reward time-out of 0 scores on the main thread instead)";
    const neverSettles = "(a top-level await that never settles?)";
    switch (reply.kind) {
      case "failed": {
        const cause = deserializeError(reply.error);
        return new RewardModuleError(`in the reward worker: ${cause.message}; ${workerHint}`, { ...details, cause });
      }
      case "scores":
        return new RewardModuleError(`the reward worker sent "scores" while loading ${from}`, details);
      case "hung":
        return new RewardModuleError(
          `reward module ${from} did not finish loading in the reward worker within ${this.timeoutMs / 1000} s ${neverSettles}; ` +
            `${this.raiseHint} if it is only slow`,
          details,
        );
      case "crashed":
        if (reply.exitCode === UNSETTLED_TOP_LEVEL_AWAIT && handle.error === null) {
          return new RewardModuleError(`reward module ${from} did not finish loading in the reward worker ${neverSettles}`, details);
        }
        return new RewardModuleError(`reward module ${from} crashed the reward worker while loading: ${reply.cause}; ${workerHint}`, details);
    }
  }

  /**
   * Posts `request` (or nothing, while the worker loads) and waits for the reply, a fault or an
   * abort. A watchdog polls the worker's call counter; when it stays unchanged for the time limit,
   * the current call hung.
   */
  private exchange(
    handle: WorkerHandle,
    request: ScoreRequest | null,
    signal: AbortSignal | undefined,
  ): Promise<WorkerReply | Fault | { kind: "aborted"; reason: unknown }> {
    const { worker, progress } = handle;
    return new Promise((resolveReply) => {
      if (signal?.aborted) {
        resolveReply({ kind: "aborted", reason: signal.reason });
        return;
      }
      const callsAtStart = Atomics.load(progress, PROGRESS_CALLS);
      let calls = callsAtStart;
      let since = Date.now();
      const fault = (kind: Fault["kind"], cause: string, exitCode: number | null): Fault => {
        const phase = Atomics.load(progress, PROGRESS_PHASE);
        const callsNow = Atomics.load(progress, PROGRESS_CALLS);
        return {
          kind,
          inCall: phase === PHASE_SCORING && callsNow !== callsAtStart,
          rewardIndex: Atomics.load(progress, PROGRESS_REWARD),
          sampleIndex: Atomics.load(progress, PROGRESS_SAMPLE),
          cause,
          exitCode,
          calls: callsNow,
        };
      };
      const pollMs = Math.max(5, Math.min(200, this.timeoutMs / 10));
      const watchdog = setInterval(() => {
        const now = Atomics.load(progress, PROGRESS_CALLS);
        if (now !== calls) {
          calls = now;
          since = Date.now();
        } else if (Date.now() - since >= this.timeoutMs) {
          finish();
          resolveReply(fault("hung", "", null));
        }
      }, pollMs);
      const onMessage = (reply: WorkerReply) => {
        finish();
        resolveReply(reply);
      };
      const onAbort = () => {
        finish();
        resolveReply({ kind: "aborted", reason: signal!.reason });
      };
      handle.onExit = (code) => {
        finish();
        resolveReply(fault("crashed", exitCause(handle, code), code));
      };
      function finish() {
        clearInterval(watchdog);
        worker.off("message", onMessage);
        signal?.removeEventListener("abort", onAbort);
        handle.onExit = null;
      }
      if (handle.exitCode !== null) {
        finish();
        resolveReply(fault("crashed", exitCause(handle, handle.exitCode), handle.exitCode));
        return;
      }
      worker.on("message", onMessage);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (request !== null) worker.postMessage(request);
    });
  }
}
