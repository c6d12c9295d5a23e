// The clp library: steerable policies, training, evaluation and rewards.

export { loadConfig, resolveConfig, ClpConfigError, DEFAULT_CONFIG } from "./clp/config.js";
export type { ClpConfig } from "./clp/config.js";
export { CONDITIONING_VARIANTS, LORA_TARGETS } from "./clp/conditioning.js";
export type { ConditioningVariant, LoraSettings } from "./clp/conditioning.js";
export { loadPolicy } from "./clp/load-policy.js";
export { ClpPolicy, PolicyMismatchError } from "./clp/policy.js";
export type { PolicyMetadata } from "./clp/policy.js";
export { formatSteeringText, parseSteeringText, PROMPT_FORMAT } from "./clp/prompt-format.js";
export { completionLogProb, POLICY_KINDS, summarize } from "./clp/steerable.js";
export type { Decoder, PolicyKind, Steering, SteerablePolicy } from "./clp/steerable.js";
export { parseWeights, simplexGrid, validateWeights, vertex, WeightError } from "./clp/weights.js";
export { DeraPolicy } from "./baselines/dera.js";
export { LogitMixingPolicy } from "./baselines/logit-mixing.js";
export { PerWeightPolicy } from "./baselines/per-weight.js";
export { RewardedSoupsPolicy } from "./baselines/rewarded-soups.js";
export { evaluateFront, evaluatePolicy, evaluateReference } from "./eval/evaluate.js";
export type { EvalSettings, WeightResult } from "./eval/evaluate.js";
export * from "./eval/metrics.js";
export { trainRun } from "./rl/methods.js";
export { RunWriteError } from "./rl/write-failure.js";
export type { TrainResult } from "./rl/methods.js";
export type { TrainOptions } from "./rl/run-context.js";
export { loadRewardModules, registerReward, getReward, listRewards, RewardError } from "./rewards/index.js";
export type { RewardFunction, RewardInput } from "./rewards/index.js";
