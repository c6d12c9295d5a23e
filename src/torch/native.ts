/**
 * Loads the libtorch addon and describes its functions. Everything else in clp goes through the
 * `Tensor` facade; this module is the only place that knows the addon's calling conventions.
 */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** An opaque handle owning one libtorch tensor. */
export interface NativeTensor {
  dispose(): void;
  isDisposed(): boolean;
}

type H = NativeTensor;
type Operand = H | number | boolean;

/** The addon's exports, named as the libtorch ops they wrap. */
export interface NativeModule {
  version(): string;
  set_num_threads(torchThreads: number, blasThreads: number): void;
  get_num_threads(): { torch: number; blas: number | null };
  live_count(): number;
  set_error_class(cls: new (message: string) => Error): void;
  manual_seed(seed: number): void;
  get_rng_state(): H;
  set_rng_state(state: H): void;

  from_array(data: ArrayBufferView, shape: number[], dtype?: string): H;
  to_array(t: H): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  zeros(shape: number[], dtype: string): H;
  ones(shape: number[], dtype: string): H;
  full(shape: number[], value: number, dtype: string): H;
  arange(start: number, end: number, step: number, dtype: string): H;
  randn(shape: number[], dtype: string): H;
  rand(shape: number[], dtype: string): H;
  randint(low: number, high: number, shape: number[]): H;
  randperm(n: number): H;
  multinomial(probs: H, numSamples: number, replacement: boolean): H;
  shape(t: H): number[];
  dtype(t: H): string;
  item(t: H): number;
  clone(t: H): H;
  detach(t: H): H;
  contiguous(t: H): H;
  to(t: H, dtype: string): H;
  equal(a: H, b: H): boolean;

  neg(t: H): H;
  exp(t: H): H;
  log(t: H): H;
  sqrt(t: H): H;
  rsqrt(t: H): H;
  tanh(t: H): H;
  sigmoid(t: H): H;
  relu(t: H): H;
  abs(t: H): H;
  square(t: H): H;
  logical_not(t: H): H;
  isfinite(t: H): H;
  isnan(t: H): H;
  floor(t: H): H;
  add(a: H, b: Operand): H;
  sub(a: H, b: Operand): H;
  mul(a: H, b: Operand): H;
  div(a: H, b: Operand): H;
  pow(a: H, b: Operand): H;
  eq(a: H, b: Operand): H;
  ne(a: H, b: Operand): H;
  lt(a: H, b: Operand): H;
  le(a: H, b: Operand): H;
  gt(a: H, b: Operand): H;
  ge(a: H, b: Operand): H;
  remainder(a: H, b: Operand): H;
  minimum(a: H, b: H): H;
  maximum(a: H, b: H): H;
  logical_and(a: H, b: H): H;
  logical_or(a: H, b: H): H;
  where(cond: H, a: Operand, b: Operand): H;
  masked_fill(t: H, mask: H, value: number): H;
  clamp(t: H, min: number | null, max: number | null): H;
  gelu(t: H, approximate: string): H;
  add_(t: H, other: Operand, alpha?: number): void;
  mul_(t: H, other: Operand): void;
  copy_(t: H, src: H): void;
  zero_(t: H): void;
  fill_(t: H, value: number): void;
  sum(t: H, dims: number[] | null, keepdim?: boolean): H;
  mean(t: H, dims: number[] | null, keepdim?: boolean): H;
  amax(t: H, dims: number[] | null, keepdim?: boolean): H;
  amin(t: H, dims: number[] | null, keepdim?: boolean): H;
  argmax(t: H, dim: number | null, keepdim?: boolean): H;
  logsumexp(t: H, dims: number[], keepdim?: boolean): H;
  var(t: H, dims: number[] | null, unbiased: boolean, keepdim?: boolean): H;
  cumsum(t: H, dim: number): H;
  topk(t: H, k: number, dim: number, largest: boolean): [H, H];
  sort(t: H, dim: number, descending: boolean): [H, H];
  all(t: H): boolean;
  any(t: H): boolean;

  reshape(t: H, shape: number[]): H;
  permute(t: H, dims: number[]): H;
  transpose(t: H, dim0: number, dim1: number): H;
  unsqueeze(t: H, dim: number): H;
  squeeze(t: H, dim?: number | null): H;
  expand(t: H, shape: number[]): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  select(t: H, dim: number, index: number): H;
  index_select(t: H, dim: number, index: H): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  tril(t: H, diagonal: number): H;
  triu(t: H, diagonal: number): H;
  repeat(t: H, repeats: number[]): H;
  repeat_interleave(t: H, repeats: number, dim: number): H;
  flip(t: H, dims: number[]): H;
  gather(t: H, dim: number, index: H): H;
  scatter_add(t: H, dim: number, index: H, src: H): H;

  matmul(a: H, b: H): H;
  bmm(a: H, b: H): H;
  linear(x: H, weight: H, bias: H | null): H;
  embedding(weight: H, indices: H): H;
  layer_norm(x: H, shape: number[], weight: H | null, bias: H | null, eps: number): H;
  softmax(t: H, dim: number): H;
  log_softmax(t: H, dim: number): H;
  dropout(t: H, p: number, train: boolean): H;
  one_hot(t: H, numClasses: number): H;
  cross_entropy(logits: H, target: H, reduction: string, ignoreIndex: number, labelSmoothing: number): H;

  requires_grad(t: H): boolean;
  requires_grad_(t: H, flag: boolean): void;
  is_grad_enabled(): boolean;
  set_grad_enabled(flag: boolean): boolean;
  backward(t: H, gradient: H | null, retainGraph?: boolean): void;
  grad(t: H): H | null;
  set_grad(t: H, grad: H | null): void;
  zero_grad(params: H[]): void;
  clip_grad_norm_(params: H[], maxNorm: number): number;
  adamw_step(
    params: H[],
    expAvg: H[],
    expAvgSq: H[],
    step: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number[],
  ): void;
}

function findAddon(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled code lives in dist/src/torch; sources in src/torch. Walk up to the package root.
  for (let dir = here, i = 0; i < 5; i++, dir = dirname(dir)) {
    const candidate = join(dir, "native", "build", "Release", "clp_torch.node");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    "clp's libtorch addon is not built (native/build/Release/clp_torch.node not found). " +
      "Run `npm run setup` in the clp checkout to install libtorch and build it.",
  );
}

/** The loaded addon. */
export const native: NativeModule = createRequire(import.meta.url)(findAddon()) as NativeModule;
