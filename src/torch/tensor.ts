/**
 * The Tensor facade over the libtorch addon. Method names and argument order follow PyTorch
 * (camelCase), so code translates line by line. Every tensor a method returns is a new object
 * registered with the open `tidy` scope; in-place methods (trailing underscore) return `this`.
 */
import { native, type NativeTensor } from "./native.js";
import { kTracked, track, type Tracked } from "./scope.js";

/** Element types the facade supports. */
export type DType = "float32" | "float64" | "int64" | "int32" | "bool" | "uint8";

/** A tensor or a plain number, for arithmetic with scalar operands. */
export type TensorLike = Tensor | number;

/** The error thrown for any libtorch failure: names the op and the inputs' dtypes and shapes. */
export class TorchError extends Error {
  /** The libtorch op that failed, e.g. "matmul". */
  op = "";
  /** index, value, type, notImplemented, linalg, outOfMemory or runtime. */
  kind = "runtime";
  /** Each tensor input as "dtype[shape]". */
  inputs: string[] = [];
  /** The C++ backtrace, present when TORCH_SHOW_CPP_STACKTRACES=1. */
  cppStack?: string;
  constructor(message: string) {
    super(message);
    this.name = "TorchError";
  }
}
native.set_error_class(TorchError);

function raw(x: TensorLike | boolean): NativeTensor | number | boolean {
  return x instanceof Tensor ? x.handle : x;
}

/** An n-dimensional array in libtorch memory, with autograd. */
export class Tensor implements Tracked, Disposable {
  readonly [kTracked] = true as const;
  /** The addon handle; use only to call the addon directly. */
  readonly handle: NativeTensor;
  private cachedShape: number[] | undefined;

  /** Wraps an addon handle; the new tensor joins the innermost open scope. */
  constructor(handle: NativeTensor) {
    this.handle = handle;
    track(this);
  }

  /** Dimensions, outermost first. */
  get shape(): readonly number[] {
    this.cachedShape ??= native.shape(this.handle);
    return this.cachedShape;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Element type. */
  get dtype(): DType {
    return native.dtype(this.handle) as DType;
  }

  /** Size of dimension `dim` (negative counts from the end). */
  size(dim: number): number {
    const d = dim < 0 ? this.ndim + dim : dim;
    const s = this.shape[d];
    if (s === undefined) throw new RangeError(`size: dim ${dim} out of range for shape [${this.shape}]`);
    return s;
  }

  /** Frees the libtorch memory now. Safe to call twice; later use throws. */
  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** True once disposed. */
  get isDisposed(): boolean {
    return this.handle.isDisposed();
  }

  // --- Conversion ---

  /** Copies the data out as a typed array of the tensor's own dtype (bool as Uint8Array). */
  data(): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
    return native.to_array(this.handle);
  }

  /** Copies the data out as float32. */
  toFloat32Array(): Float32Array {
    if (this.dtype === "float32") return native.to_array(this.handle) as Float32Array;
    const t = native.to(this.handle, "float32");
    try {
      return native.to_array(t) as Float32Array;
    } finally {
      t.dispose();
    }
  }

  /** Copies the data out as float64. */
  toFloat64Array(): Float64Array {
    if (this.dtype === "float64") return native.to_array(this.handle) as Float64Array;
    const t = native.to(this.handle, "float64");
    try {
      return native.to_array(t) as Float64Array;
    } finally {
      t.dispose();
    }
  }

  /** Copies the data out as int32 (integer and bool tensors; floats are truncated). */
  toInt32Array(): Int32Array {
    if (this.dtype === "int32") return native.to_array(this.handle) as Int32Array;
    const t = native.to(this.handle, "int32");
    try {
      return native.to_array(t) as Int32Array;
    } finally {
      t.dispose();
    }
  }

  /** Copies the data out as a flat array of numbers. */
  toArray(): number[] {
    return Array.from(this.toFloat64Array());
  }

  /** The value of a one-element tensor. */
  item(): number {
    return native.item(this.handle);
  }

  to(dtype: DType): Tensor {
    return new Tensor(native.to(this.handle, dtype));
  }

  clone(): Tensor {
    return new Tensor(native.clone(this.handle));
  }

  /** A tensor sharing storage with this one, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }

  contiguous(): Tensor {
    return new Tensor(native.contiguous(this.handle));
  }

  // --- Elementwise ---

  neg(): Tensor {
    return new Tensor(native.neg(this.handle));
  }
  exp(): Tensor {
    return new Tensor(native.exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(native.log(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(native.sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return new Tensor(native.rsqrt(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(native.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return new Tensor(native.sigmoid(this.handle));
  }
  relu(): Tensor {
    return new Tensor(native.relu(this.handle));
  }
  abs(): Tensor {
    return new Tensor(native.abs(this.handle));
  }
  square(): Tensor {
    return new Tensor(native.square(this.handle));
  }
  floor(): Tensor {
    return new Tensor(native.floor(this.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(native.logical_not(this.handle));
  }
  isfinite(): Tensor {
    return new Tensor(native.isfinite(this.handle));
  }
  isnan(): Tensor {
    return new Tensor(native.isnan(this.handle));
  }
  /** GELU; `approximate` is "none" (erf) or "tanh". */
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return new Tensor(native.gelu(this.handle, approximate));
  }

  add(other: TensorLike): Tensor {
    return new Tensor(native.add(this.handle, raw(other)));
  }
  sub(other: TensorLike): Tensor {
    return new Tensor(native.sub(this.handle, raw(other)));
  }
  mul(other: TensorLike): Tensor {
    return new Tensor(native.mul(this.handle, raw(other)));
  }
  div(other: TensorLike): Tensor {
    return new Tensor(native.div(this.handle, raw(other)));
  }
  pow(exponent: TensorLike): Tensor {
    return new Tensor(native.pow(this.handle, raw(exponent)));
  }
  remainder(other: TensorLike): Tensor {
    return new Tensor(native.remainder(this.handle, raw(other)));
  }
  eq(other: TensorLike): Tensor {
    return new Tensor(native.eq(this.handle, raw(other)));
  }
  ne(other: TensorLike): Tensor {
    return new Tensor(native.ne(this.handle, raw(other)));
  }
  lt(other: TensorLike): Tensor {
    return new Tensor(native.lt(this.handle, raw(other)));
  }
  le(other: TensorLike): Tensor {
    return new Tensor(native.le(this.handle, raw(other)));
  }
  gt(other: TensorLike): Tensor {
    return new Tensor(native.gt(this.handle, raw(other)));
  }
  ge(other: TensorLike): Tensor {
    return new Tensor(native.ge(this.handle, raw(other)));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(native.minimum(this.handle, other.handle));
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(native.maximum(this.handle, other.handle));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(native.logical_and(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(native.logical_or(this.handle, other.handle));
  }
  /** Elements where `mask` is true are replaced by `value`. */
  maskedFill(mask: Tensor, value: number): Tensor {
    return new Tensor(native.masked_fill(this.handle, mask.handle, value));
  }
  clamp(min: number | null, max: number | null = null): Tensor {
    return new Tensor(native.clamp(this.handle, min, max));
  }

  // --- In place ---

  /** this += alpha * other. */
  add_(other: TensorLike, alpha = 1): this {
    native.add_(this.handle, raw(other), alpha);
    return this;
  }
  mul_(other: TensorLike): this {
    native.mul_(this.handle, raw(other));
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  fill_(value: number): this {
    native.fill_(this.handle, value);
    return this;
  }

  // --- Reductions ---

  /** Sum over `dims` (all dimensions when omitted). */
  sum(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.sum(this.handle, dimList(dims), keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.mean(this.handle, dimList(dims), keepdim));
  }
  amax(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amax(this.handle, dimList(dims), keepdim));
  }
  amin(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amin(this.handle, dimList(dims), keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim ?? null, keepdim));
  }
  logsumexp(dims: number | number[], keepdim = false): Tensor {
    return new Tensor(native.logsumexp(this.handle, dimList(dims) ?? [], keepdim));
  }
  /** Variance; `unbiased` divides by n - 1. */
  var(dims?: number | number[], unbiased = true, keepdim = false): Tensor {
    return new Tensor(native.var(this.handle, dimList(dims), unbiased, keepdim));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.cumsum(this.handle, dim));
  }
  /** The k largest (or smallest) entries along `dim`, sorted: [values, indices]. */
  topk(k: number, dim = -1, largest = true): [Tensor, Tensor] {
    const [v, i] = native.topk(this.handle, k, dim, largest);
    return [new Tensor(v), new Tensor(i)];
  }
  sort(dim = -1, descending = false): [Tensor, Tensor] {
    const [v, i] = native.sort(this.handle, dim, descending);
    return [new Tensor(v), new Tensor(i)];
  }
  /** True when every element is non-zero. */
  all(): boolean {
    return native.all(this.handle);
  }
  any(): boolean {
    return native.any(this.handle);
  }

  // --- Shape ---

  reshape(...shape: number[]): Tensor {
    return new Tensor(native.reshape(this.handle, shape));
  }
  permute(...dims: number[]): Tensor {
    return new Tensor(native.permute(this.handle, dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(native.transpose(this.handle, dim0, dim1));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.handle, dim ?? null));
  }
  expand(...shape: number[]): Tensor {
    return new Tensor(native.expand(this.handle, shape));
  }
  /** The slice [start, start + length) of dimension `dim`, sharing storage. */
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.handle, dim, start, length));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.index_select(this.handle, dim, index.handle));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(native.tril(this.handle, diagonal));
  }
  triu(diagonal = 0): Tensor {
    return new Tensor(native.triu(this.handle, diagonal));
  }
  repeat(...repeats: number[]): Tensor {
    return new Tensor(native.repeat(this.handle, repeats));
  }
  repeatInterleave(repeats: number, dim: number): Tensor {
    return new Tensor(native.repeat_interleave(this.handle, repeats, dim));
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatter_add(this.handle, dim, index.handle, src.handle));
  }

  // --- Linear algebra and neural-network ops ---

  matmul(other: Tensor): Tensor {
    return new Tensor(native.matmul(this.handle, other.handle));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(native.bmm(this.handle, other.handle));
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.log_softmax(this.handle, dim));
  }

  // --- Autograd ---

  get requiresGrad(): boolean {
    return native.requires_grad(this.handle);
  }
  requiresGrad_(flag = true): this {
    native.requires_grad_(this.handle, flag);
    return this;
  }
  /** The accumulated gradient, or null when backward has not reached this tensor. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(value: Tensor | null) {
    native.set_grad(this.handle, value === null ? null : value.handle);
  }
  /** Backpropagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient: Tensor | null = null, retainGraph = false): void {
    native.backward(this.handle, gradient === null ? null : gradient.handle, retainGraph);
  }

  toString(): string {
    return this.isDisposed ? "Tensor(disposed)" : `Tensor(${this.dtype}[${this.shape.join(", ")}])`;
  }
}

function dimList(dims: number | number[] | undefined): number[] | null {
  if (dims === undefined) return null;
  return typeof dims === "number" ? [dims] : dims;
}
