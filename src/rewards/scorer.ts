// Scoring with a time limit: rewards run in a worker thread, so a reward that hangs (an endless
// loop, a stuck synchronous call) can be stopped and named instead of freezing training.

import { Worker } from "node:worker_threads";
import { defaultRegistry, type RewardRegistry } from "./registry.js";
import { scoreReward, scoreRewardPerSample } from "./score.js";
import { RewardError, truncateText, type RewardFunction, type RewardInput } from "./types.js";
import {
  deserializeError,
  PROGRESS_CALLS,
  PROGRESS_LENGTH,
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
   * as hung. 0 scores on the calling thread with no limit.
   */
  timeoutSeconds: number;
  /** The registry the rewards were taken from, to find their modules; the default registry when omitted. */
  registry?: RewardRegistry;
  /** How a user raises the limit, ending the message of a hang; "raise the time-out" when omitted. */
  raiseHint?: string;
}

/** Scores of a batch in which some samples may be unscorable. */
export interface ScoredRows {
  /** One row of reward values per sample (columns in reward order), or null where any reward failed. */
  rows: (number[] | null)[];
  /** The failures, grouped by reward, each in sample order. */
  errors: RewardError[];
}

/** A hung call reported by the watchdog: the reward and the sample (-1 for scoreBatch). */
interface Hang {
  kind: "hung";
  rewardIndex: number;
  sampleIndex: number;
}

/** Time the watchdog allows a worker to stop before giving up on it. */
const TERMINATE_GRACE_MS = 5000;

function sampleMajor(byReward: readonly (readonly (number | null)[])[], count: number): (number[] | null)[] {
  return Array.from({ length: count }, (_, i) => {
    const row = byReward.map((column) => column[i] ?? null);
    return row.every((value): value is number => value !== null) ? row : null;
  });
}

/**
 * Scores batches with a fixed list of rewards. With a positive time limit the rewards run in a
 * worker thread: a call that makes no progress for `timeoutSeconds` is a failure of that reward on
 * that sample, reported like any other reward failure, and the worker is replaced. Rewards
 * registered in code (not built in and not loaded from a module) cannot be loaded in another
 * thread; they are scored on the calling thread and `unlimitedReason` says why.
 */
export class RewardScorer {
  private worker: Worker | null = null;
  private progress: Int32Array = new Int32Array(PROGRESS_LENGTH);

  private constructor(
    readonly rewards: readonly RewardFunction[],
    private readonly timeoutMs: number,
    private readonly sources: WorkerSetup["rewards"] | null,
    /** Why the rewards run without a time limit, or null when they run in a worker. */
    readonly unlimitedReason: string | null,
    private readonly raiseHint: string,
  ) {}

  /** Prepares scoring of `rewards`; with a time limit, starts the worker and loads the rewards in it. */
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

  /** Scores every input with every reward; the first failure raises a RewardError. Rows are samples. */
  async scoreAll(inputs: readonly RewardInput[]): Promise<number[][]> {
    if (this.sources === null) {
      const byReward = this.rewards.map((reward) => scoreReward(reward, inputs));
      return inputs.map((_, i) => byReward.map((column) => column[i]!));
    }
    const byReward = await this.request(inputs, "stop");
    return sampleMajor(byReward.values, inputs.length) as number[][];
  }

  /**
   * Scores every input with every reward; a sample that any reward fails on (throws, returns an
   * invalid value or hangs) gets a null row, and its errors are returned instead of raised.
   */
  async scorePerSample(inputs: readonly RewardInput[]): Promise<ScoredRows> {
    if (this.sources === null) {
      const byReward = this.rewards.map((reward) => scoreRewardPerSample(reward, inputs));
      return { rows: sampleMajor(byReward.map((s) => s.values), inputs.length), errors: byReward.flatMap((s) => s.errors) };
    }
    const scored = await this.request(inputs, "skip");
    return { rows: sampleMajor(scored.values, inputs.length), errors: scored.errors };
  }

  /** Stops the worker. The scorer starts a new one if it is used again. */
  async close(): Promise<void> {
    await this.stopWorker();
  }

  private async start(): Promise<void> {
    const progress = new SharedArrayBuffer(PROGRESS_LENGTH * Int32Array.BYTES_PER_ELEMENT);
    const setup: WorkerSetup = { rewards: this.sources!, progress };
    const worker = new Worker(new URL("./score-worker.js", import.meta.url), { workerData: setup });
    worker.unref();
    this.worker = worker;
    this.progress = new Int32Array(progress);
    const reply = await this.exchange(null);
    if (reply.kind === "ready") return;
    await this.stopWorker();
    if (reply.kind === "hung") {
      throw new Error(`loading the rewards ${this.rewards.map((r) => r.name).join(", ")} in the reward worker took longer than ${this.timeoutMs / 1000} s; ${this.raiseHint}`);
    }
    const cause = reply.kind === "failed" ? deserializeError(reply.error) : new Error("unexpected reply");
    throw new Error(`the reward worker could not load the rewards: ${cause.message}`, { cause });
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker === null) return;
    await Promise.race([worker.terminate(), new Promise((resolveLater) => setTimeout(resolveLater, TERMINATE_GRACE_MS).unref())]);
  }

  /** Sends one batch, and replaces the worker and tries again for every call that hangs in "skip" mode. */
  private async request(inputs: readonly RewardInput[], mode: "stop" | "skip"): Promise<{ values: (number | null)[][]; errors: RewardError[] }> {
    const request: ScoreRequest = { inputs: [...inputs], mode, hung: [] };
    for (;;) {
      if (this.worker === null) await this.start();
      const reply = await this.exchange(request);
      if (reply.kind === "scores") return { values: reply.values, errors: reply.errors.map(toRewardError) };
      if (reply.kind === "failed") throw deserializeError(reply.error);
      if (reply.kind !== "hung") throw new Error(`the reward worker sent "${reply.kind}" instead of scores`);
      await this.stopWorker();
      const error = this.hangError(reply, inputs);
      if (mode === "stop") throw error;
      request.hung.push({ rewardIndex: reply.rewardIndex, sampleIndex: reply.sampleIndex, error: serializeError(error) });
    }
  }

  private hangError(hang: Hang, inputs: readonly RewardInput[]): RewardError {
    const reward = this.rewards[hang.rewardIndex]!;
    const limit = `${this.timeoutMs / 1000} s`;
    if (hang.sampleIndex < 0) {
      return new RewardError(
        `reward "${reward.name}" did not return from scoreBatch on ${inputs.length} samples within ${limit}; ${this.raiseHint} if it is only slow`,
        { rewardName: reward.name },
      );
    }
    const summary = truncateText(inputs[hang.sampleIndex]?.summary ?? "");
    return new RewardError(
      `reward "${reward.name}" did not return within ${limit} on sample ${hang.sampleIndex} (summary ${JSON.stringify(summary)}); ${this.raiseHint} if it is only slow`,
      { rewardName: reward.name, sampleIndex: hang.sampleIndex, summary },
    );
  }

  /**
   * Posts `request` (or nothing, while the worker loads) and waits for the reply. A watchdog polls
   * the worker's call counter; when it stays unchanged for the time limit, the current call hung.
   */
  private exchange(request: ScoreRequest | null): Promise<WorkerReply | Hang> {
    const worker = this.worker!;
    const progress = this.progress;
    return new Promise((resolveReply, reject) => {
      let calls = Atomics.load(progress, PROGRESS_CALLS);
      let since = Date.now();
      const pollMs = Math.max(5, Math.min(200, this.timeoutMs / 10));
      const watchdog = setInterval(() => {
        const now = Atomics.load(progress, PROGRESS_CALLS);
        if (now !== calls) {
          calls = now;
          since = Date.now();
        } else if (Date.now() - since >= this.timeoutMs) {
          finish();
          resolveReply({ kind: "hung", rewardIndex: Atomics.load(progress, PROGRESS_REWARD), sampleIndex: Atomics.load(progress, PROGRESS_SAMPLE) });
        }
      }, pollMs);
      const onMessage = (reply: WorkerReply) => {
        finish();
        resolveReply(reply);
      };
      const onError = (error: Error) => {
        finish();
        this.worker = null;
        reject(new Error(`the reward worker failed: ${error.message}`, { cause: error }));
      };
      const onExit = (code: number) => {
        finish();
        this.worker = null;
        reject(new Error(`the reward worker exited with code ${code} while scoring; a reward may call process.exit`));
      };
      function finish() {
        clearInterval(watchdog);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      }
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      if (request !== null) worker.postMessage(request);
    });
  }
}
