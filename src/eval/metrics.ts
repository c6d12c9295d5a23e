// Evaluation metrics for comparing steerable policies: Pareto fronts, exact hypervolume, a shared
// reference point, weight grids from files, steerability over a grid and paired comparisons of two
// methods. Every objective is higher-is-better. The code is pure TypeScript and uses no engine.

export { dominates, paretoFront } from "./pareto.js";
export { hypervolume, hypervolumeSlicing, sharedReferencePoint } from "./hypervolume.js";
export { parseWeightGrid } from "./weight-grid.js";
export {
  edgeMonotonicity,
  rankCorrelations,
  rewardRanges,
  type EdgeMonotonicity,
  type MonotonicityReport,
  type RewardRange,
} from "./steerability.js";
export {
  dominanceShare,
  pairedBootstrapHypervolume,
  type BootstrapHypervolume,
  type BootstrapOptions,
  type DominanceShare,
  type PerPromptRewards,
} from "./compare.js";
export type { Rows } from "./metric-inputs.js";
