/** clp's tensor library: libtorch through the in-repo addon, with explicit tensor lifetime. */
export { Tensor, TorchError, type DType, type TensorLike } from "./tensor.js";
export { tidy, keep, Scope } from "./scope.js";
export * from "./functional.js";
export { AdamW, clipGradNorm, type AdamWOptions, type ParamGroupEntry } from "./optim.js";
