// The worker thread behind RewardScorer: loads the rewards by name (built-in or from their module
// file), scores the batches the main thread posts, and records in shared memory which call it is
// in, so the main thread can tell a hung reward and name it even while this thread is blocked.

import { parentPort, workerData } from "node:worker_threads";
import { BUILTIN_REWARDS } from "./registry.js";
import { importRewardModule } from "./modules.js";
import { scoreReward, scoreRewardPerSample } from "./score.js";
import type { RewardFunction, RewardInput } from "./types.js";
import {
  PROGRESS_CALLS,
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
  for (const { name, from } of setup.rewards) {
    let candidates: readonly RewardFunction[];
    if (from === "built-in") {
      candidates = BUILTIN_REWARDS;
    } else {
      if (!modules.has(from)) modules.set(from, await importRewardModule(from));
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
  const perReward = rewards.map((reward, j) => scoreRewardPerSample(reward, inputs, hooksFor(j)));
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
    let reply: WorkerReply;
    try {
      reply = score(rewards, request);
    } catch (error) {
      reply = { kind: "failed", error: serializeError(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ kind: "ready" } satisfies WorkerReply);
}
