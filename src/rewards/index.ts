// Reward functions for the summarisation task, their registry, batch scoring and normalisation.

export { brevity, createBrevity, DEFAULT_BREVITY_TARGET_WORDS } from "./brevity.js";
export type { BrevityOptions } from "./brevity.js";
export {
  coverage,
  createCoverage,
  DEFAULT_COVERAGE_TOP_K,
  DESCRIPTION_BOILERPLATE,
  salientStems,
} from "./coverage.js";
export type { CoverageOptions, SalientStem } from "./coverage.js";
export { createFaithfulness, faithfulness } from "./faithfulness.js";
export {
  createForm,
  form,
  FORM_CHECKS,
  formFaults,
  KEYWORD_RUN_WORDS,
  SYNOPSIS_MAX_CHARS,
} from "./form.js";
export type { FormCheck } from "./form.js";
export {
  DEFAULT_MODULE_LOAD_SECONDS,
  importRewardModule,
  resolveRewardModulePath,
  REWARD_MODULE_EXTENSIONS,
  RewardModuleError,
} from "./modules.js";
export type { ImportRewardModuleOptions, RewardModuleErrorDetails } from "./modules.js";
export { MIN_STD, RewardNormalizer } from "./normalizer.js";
export type { RewardNormalizerJSON } from "./normalizer.js";
export {
  BUILTIN_REWARDS,
  defaultRegistry,
  getReward,
  listRewards,
  loadRewardModule,
  loadRewardModules,
  registerReward,
  RewardRegistry,
} from "./registry.js";
export type { RegisterOptions } from "./registry.js";
export { createRouge1, createRougeL, lcsLength, rouge1, rougeL, unigramOverlap } from "./rouge.js";
export {
  rowsBySample,
  scoreAll,
  scoreAllPerSample,
  scoreReward,
  scoreRewardPerSample,
  scoreSummaries,
  scoreSummariesPerSample,
  summaryInputs,
} from "./score.js";
export type { PerSampleScores, ScoreHooks } from "./score.js";
export { RewardScorer, ScoringAborted } from "./scorer.js";
export type { RewardScorerOptions, ScoredRows } from "./scorer.js";
export { stem } from "./stem.js";
export { contentStems, isContentWord, STOPWORDS, tokenize } from "./text.js";
export type { ContentStems } from "./text.js";
export { ERROR_TEXT_CHARS, RewardError, truncateText } from "./types.js";
export type { RewardErrorDetails, RewardFunction, RewardInput } from "./types.js";
export { validateReward } from "./validate.js";
