// The worker thread behind RewardScorer: loads the rewards by name (built-in or from their module
// file) and scores the batches the main thread posts. It records its phase in shared memory, with
// the reward it loads or the call it is in. The main thread reads them to name a hung reward while
// this thread is blocked, and the reward or module that was running when this thread died.

import { parentPort, workerData } from "node:worker_threads";
import { BUILTIN_REWARDS } from "./registry.js";
import { importRewardModule } from "./modules.js";
import { scoreReward, scoreRewardPerSample } from "./score.js";
import type { RewardFunction, RewardInput } from "./types.js";
import {
  PHASE_IDLE,
  PHASE_SCORING,
  PROGRESS_CALLS,
  PROGRESS_PHASE,
  PROGRESS_REWARD,
  PROGRESS_SAMPLE,
  serializeError,
  toRewardError,
  type ScoreRequest,
  type WorkerReply,
  type WorkerSetup,
} from "./worker-protocol.js";

const setup = workerData as WorkerSetup;
const progress = new Int32Array(setup.progress);
const port = parentPort!;

async function loadRewards(): Promise<RewardFunction[]> {
  const modules = new Map<string, RewardFunction[]>();
  const rewards: RewardFunction[] = [];
  for (const [index, { name, from }] of setup.rewards.entries()) {
    Atomics.store(progress, PROGRESS_REWARD, index);
    let candidates: readonly RewardFunction[];
    if (from === "built-in") {
      candidates = BUILTIN_REWARDS;
    } else {
      // No time limit of its own: the main thread's watchdog bounds the loading.
      if (!modules.has(from)) modules.set(from, await importRewardModule(from, from, { timeoutSeconds: 0 }));
      candidates = modules.get(from)!;
    }
    const reward = candidates.find((r) => r.name === name);
    if (reward === undefined) throw new Error(`reward "${name}" is no longer exported by ${from}`);
    rewards.push(reward);
  }
  return rewards;
}

function score(rewards: RewardFunction[], request: ScoreRequest): WorkerReply {
  const inputs: RewardInput[] = request.inputs;
  const hooksFor = (rewardIndex: number) => ({
    beforeCall(sampleIndex: number) {
      Atomics.store(progress, PROGRESS_REWARD, rewardIndex);
      Atomics.store(progress, PROGRESS_SAMPLE, sampleIndex);
      Atomics.add(progress, PROGRESS_CALLS, 1);
    },
    hung: new Map(
      request.hung
        .filter((h) => h.rewardIndex === rewardIndex)
        .map((h) => [h.sampleIndex, toRewardError(h.error)] as const),
    ),
  });
  if (request.mode === "stop") {
    return { kind: "scores", values: rewards.map((reward, j) => scoreReward(reward, inputs, hooksFor(j))), errors: [] };
  }
  const perReward = rewards.map((reward, j) => {
    const hooks = hooksFor(j);
    const scores = scoreRewardPerSample(reward, inputs, hooks);
    // A scoreBatch call that hung or crashed in an earlier attempt is reported after the
    // reward's sample errors, although `score` then scored every sample.
    const batchError = hooks.hung.get(-1);
    return batchError === undefined ? scores : { values: scores.values, errors: [...scores.errors, batchError] };
  });
  return {
    kind: "scores",
    values: perReward.map((scores) => scores.values),
    errors: perReward.flatMap((scores) => scores.errors.map(serializeError)),
  };
}

const rewards = await loadRewards().catch((error: unknown) => {
  port.postMessage({ kind: "failed", error: serializeError(error) } satisfies WorkerReply);
  return null;
});
if (rewards !== null) {
  port.on("message", (request: ScoreRequest) => {
    Atomics.store(progress, PROGRESS_PHASE, PHASE_SCORING);
    let reply: WorkerReply;
    try {
      reply = score(rewards, request);
    } catch (error) {
      reply = { kind: "failed", error: serializeError(error) };
    }
    Atomics.store(progress, PROGRESS_PHASE, PHASE_IDLE);
    port.postMessage(reply);
  });
  Atomics.store(progress, PROGRESS_PHASE, PHASE_IDLE);
  port.postMessage({ kind: "ready" } satisfies WorkerReply);
}
