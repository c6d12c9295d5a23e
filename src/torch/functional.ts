/**
 * Free functions of the facade: tensor creation, joins, neural-network ops, gradient mode,
 * seeding and runtime settings.
 */
import { cpus } from "node:os";
import { native } from "./native.js";
import { Tensor, type DType, type TensorLike } from "./tensor.js";

type NestedNumbers = number | boolean | NestedNumbers[];

function flatten(values: NestedNumbers, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(values)) {
    if (shape.length === depth) shape.push(values.length);
    else if (shape[depth] !== values.length) {
      throw new RangeError(`tensor: ragged nested array at depth ${depth}: expected ${shape[depth]} items, got ${values.length}`);
    }
    for (const v of values) flatten(v, shape, out, depth + 1);
  } else {
    if (shape.length !== depth) throw new RangeError(`tensor: ragged nested array at depth ${depth}`);
    out.push(typeof values === "boolean" ? Number(values) : values);
  }
}

/** Creates a tensor from (nested) JS numbers. Floats default to float32. */
export function tensor(values: NestedNumbers, dtype: DType = "float32"): Tensor {
  const shape: number[] = [];
  const flat: number[] = [];
  flatten(values, shape, flat, 0);
  return fromArray(Float64Array.from(flat), shape, dtype);
}

/** Copies a typed array into a new tensor of `shape`; `dtype` converts (default: the array's type). */
export function fromArray(
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array,
  shape: readonly number[],
  dtype?: DType,
): Tensor {
  return new Tensor(native.from_array(data, [...shape], dtype));
}

/** Creates an int64 tensor of `shape` from JS integers in the int32 range (token ids, positions). */
export function int64Tensor(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return fromArray(Int32Array.from(values), shape, "int64");
}

export function zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return new Tensor(native.zeros([...shape], dtype));
}

export function ones(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return new Tensor(native.ones([...shape], dtype));
}

export function full(shape: readonly number[], value: number, dtype: DType = "float32"): Tensor {
  return new Tensor(native.full([...shape], value, dtype));
}

/** Values start, start + step, … below end. */
export function arange(start: number, end: number, step = 1, dtype: DType = "int64"): Tensor {
  return new Tensor(native.arange(start, end, step, dtype));
}

/** Standard normal samples from the global generator (see `manualSeed`). */
export function randn(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return new Tensor(native.randn([...shape], dtype));
}

/** Uniform samples in [0, 1) from the global generator. */
export function rand(shape: readonly number[], dtype: DType = "float32"): Tensor {
  return new Tensor(native.rand([...shape], dtype));
}

/** Integers uniform in [low, high), int64. */
export function randint(low: number, high: number, shape: readonly number[]): Tensor {
  return new Tensor(native.randint(low, high, [...shape]));
}

/** Indices sampled from each row of `probs` (which need not be normalised). */
export function multinomial(probs: Tensor, numSamples: number, replacement = false): Tensor {
  return new Tensor(native.multinomial(probs.handle, numSamples, replacement));
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(tensors.map((t) => t.handle), dim));
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(tensors.map((t) => t.handle), dim));
}

/** Elementwise `condition ? a : b`. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const ra = a instanceof Tensor ? a.handle : a;
  const rb = b instanceof Tensor ? b.handle : b;
  return new Tensor(native.where(condition.handle, ra, rb));
}

/** x @ weightᵀ + bias, with weight shaped [out, in] as in torch.nn.Linear. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return new Tensor(native.linear(x.handle, weight.handle, bias === null ? null : bias.handle));
}

/** Rows of `weight` picked by integer `indices`. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  return new Tensor(native.embedding(weight.handle, indices.handle));
}

/** Layer normalisation over the trailing `normalizedShape` dimensions. */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  return new Tensor(
    native.layer_norm(x.handle, [...normalizedShape], weight?.handle ?? null, bias?.handle ?? null, eps),
  );
}

/** Dropout with drop probability `p`; the identity when `train` is false. */
export function dropout(x: Tensor, p: number, train: boolean): Tensor {
  return new Tensor(native.dropout(x.handle, p, train));
}

export function oneHot(indices: Tensor, numClasses: number): Tensor {
  return new Tensor(native.one_hot(indices.handle, numClasses));
}

/** Cross-entropy of logits [N, C] against int64 targets [N]. */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  options: { reduction?: "none" | "mean" | "sum"; ignoreIndex?: number; labelSmoothing?: number } = {},
): Tensor {
  return new Tensor(
    native.cross_entropy(
      logits.handle,
      target.handle,
      options.reduction ?? "mean",
      options.ignoreIndex ?? -100,
      options.labelSmoothing ?? 0,
    ),
  );
}

/** Runs `fn` with gradient recording off, restoring the previous mode afterwards. */
export function noGrad<T>(fn: () => T): T {
  const previous = native.set_grad_enabled(false);
  try {
    return fn();
  } finally {
    native.set_grad_enabled(previous);
  }
}

/** Runs `fn` with gradient recording on, restoring the previous mode afterwards. */
export function enableGrad<T>(fn: () => T): T {
  const previous = native.set_grad_enabled(true);
  try {
    return fn();
  } finally {
    native.set_grad_enabled(previous);
  }
}

export function isGradEnabled(): boolean {
  return native.is_grad_enabled();
}

/** Seeds libtorch's global CPU generator (randn, rand, multinomial, dropout). */
export function manualSeed(seed: number): void {
  native.manual_seed(seed);
}

/** The global generator's state as a uint8 tensor, for checkpoints. */
export function getRngState(): Tensor {
  return new Tensor(native.get_rng_state());
}

export function setRngState(state: Tensor): void {
  native.set_rng_state(state.handle);
}

/** Number of live (undisposed) tensors in this process, for leak checks. */
export function liveTensorCount(): number {
  return native.live_count();
}

/**
 * Sets libtorch's intra-op threads and OpenBLAS's threads separately: libtorch's setting does not
 * reach OpenBLAS, and running both pools at full width oversubscribes the cores.
 */
export function setNumThreads(torchThreads: number, blasThreads: number): void {
  native.set_num_threads(torchThreads, blasThreads);
}

export function getNumThreads(): { torch: number; blas: number | null } {
  return native.get_num_threads();
}

/** libtorch's version, "major.minor". */
export function torchVersion(): string {
  return native.version();
}

function applyDefaultThreads(): void {
  // Measured on a 2-core machine: libtorch 1 thread with OpenBLAS on every core trains fastest;
  // 2 + 2 ran 2.3 times slower. OMP_NUM_THREADS / OPENBLAS_NUM_THREADS override the default.
  const torchThreads = Number(process.env.OMP_NUM_THREADS ?? 1) || 1;
  const blasThreads = Number(process.env.OPENBLAS_NUM_THREADS ?? cpus().length) || 1;
  native.set_num_threads(torchThreads, blasThreads);
}
applyDefaultThreads();
