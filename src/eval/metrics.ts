// Evaluation metrics for comparing steerable policies: Pareto fronts, exact hypervolume, a shared
// reference point and weight grids from files. Every objective is higher-is-better. The code is pure
// TypeScript and uses no engine.

export { dominates, paretoFront } from "./pareto.js";
export { hypervolume, hypervolumeSlicing, sharedReferencePoint } from "./hypervolume.js";
export { parseWeightGrid } from "./weight-grid.js";
export type { Rows } from "./metric-inputs.js";
