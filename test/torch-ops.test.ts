import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/torch/index.js";
import { gradcheck } from "../src/torch/gradcheck.js";

const { tidy } = torch;
const f64 = (shape: number[]) => torch.randn(shape, "float64");
const positive = (shape: number[]) => torch.rand(shape, "float64").add(0.5);
const index = (values: number[], shape = [values.length]) =>
  torch.fromArray(BigInt64Array.from(values.map(BigInt)), shape);

// Each case: a function of float64 inputs, and the inputs. Every bound differentiable op appears.
const cases: Record<string, [(...x: torch.Tensor[]) => torch.Tensor, () => torch.Tensor[]]> = {
  add: [(a, b) => a!.add(b!), () => [f64([3, 4]), f64([4])]],
  addScalar: [(a) => a!.add(2.5), () => [f64([3])]],
  sub: [(a, b) => a!.sub(b!), () => [f64([2, 3]), f64([2, 1])]],
  mul: [(a, b) => a!.mul(b!), () => [f64([2, 3]), f64([3])]],
  div: [(a, b) => a!.div(b!), () => [f64([2, 3]), positive([2, 3])]],
  pow: [(a) => a!.pow(3), () => [f64([5])]],
  powTensor: [(a, b) => a!.pow(b!), () => [positive([4]), f64([4])]],
  neg: [(a) => a!.neg(), () => [f64([4])]],
  exp: [(a) => a!.exp(), () => [f64([4])]],
  log: [(a) => a!.log(), () => [positive([4])]],
  sqrt: [(a) => a!.sqrt(), () => [positive([4])]],
  rsqrt: [(a) => a!.rsqrt(), () => [positive([4])]],
  tanh: [(a) => a!.tanh(), () => [f64([4])]],
  sigmoid: [(a) => a!.sigmoid(), () => [f64([4])]],
  relu: [(a) => a!.relu(), () => [positive([4]).sub(1.01)]],
  abs: [(a) => a!.abs(), () => [positive([4]).sub(1.01)]],
  square: [(a) => a!.square(), () => [f64([4])]],
  geluErf: [(a) => a!.gelu("none"), () => [f64([6])]],
  geluTanh: [(a) => a!.gelu("tanh"), () => [f64([6])]],
  minimum: [(a, b) => a!.minimum(b!), () => [f64([5]), f64([5])]],
  maximum: [(a, b) => a!.maximum(b!), () => [f64([5]), f64([5])]],
  clamp: [(a) => a!.clamp(-0.5, 0.5), () => [f64([6])]],
  where: [(a, b) => torch.where(a!.gt(0), a!, b!), () => [f64([6]), f64([6])]],
  maskedFill: [(a) => a!.maskedFill(a!.detach().gt(0), 0), () => [f64([6])]],
  sum: [(a) => a!.sum(1, true), () => [f64([3, 4])]],
  mean: [(a) => a!.mean([0, 1]), () => [f64([3, 4])]],
  amax: [(a) => a!.amax(1), () => [f64([3, 4])]],
  amin: [(a) => a!.amin(0), () => [f64([3, 4])]],
  logsumexp: [(a) => a!.logsumexp(1), () => [f64([3, 4])]],
  var: [(a) => a!.var(1, true), () => [f64([3, 4])]],
  cumsum: [(a) => a!.cumsum(1), () => [f64([2, 4])]],
  topk: [(a) => a!.topk(2, 1)[0], () => [f64([3, 5])]],
  sort: [(a) => a!.sort(1, true)[0], () => [f64([3, 5])]],
  reshape: [(a) => a!.reshape(4, 3).mul(torch.arange(0, 3, 1, "float64")), () => [f64([3, 4])]],
  permute: [(a) => a!.permute(2, 0, 1).mul(torch.arange(0, 4, 1, "float64")), () => [f64([3, 4, 2])]],
  transpose: [(a) => a!.transpose(0, 1).matmul(a!), () => [f64([3, 2])]],
  unsqueezeSqueeze: [(a) => a!.unsqueeze(1).squeeze(1).exp(), () => [f64([3])]],
  expand: [(a) => a!.expand(3, 4).exp(), () => [f64([1, 4])]],
  narrow: [(a) => a!.narrow(1, 1, 2), () => [f64([3, 4])]],
  select: [(a) => a!.select(0, 2), () => [f64([3, 4])]],
  indexSelect: [(a) => a!.indexSelect(0, index([2, 0, 2])), () => [f64([3, 4])]],
  cat: [(a, b) => torch.cat([a!, b!], 1), () => [f64([2, 3]), f64([2, 1])]],
  stack: [(a, b) => torch.stack([a!, b!], 0), () => [f64([2, 3]), f64([2, 3])]],
  tril: [(a) => a!.tril(), () => [f64([3, 3])]],
  triu: [(a) => a!.triu(1), () => [f64([3, 3])]],
  repeat: [(a) => a!.repeat(2, 1), () => [f64([2, 3])]],
  repeatInterleave: [(a) => a!.repeatInterleave(2, 0), () => [f64([2, 3])]],
  flip: [(a) => a!.flip(1), () => [f64([2, 3])]],
  gather: [(a) => a!.gather(1, index([0, 2, 1, 1], [2, 2])), () => [f64([2, 3])]],
  scatterAdd: [(a, b) => a!.scatterAdd(1, index([0, 0, 1, 2], [2, 2]), b!), () => [f64([2, 3]), f64([2, 2])]],
  matmul: [(a, b) => a!.matmul(b!), () => [f64([2, 3, 4]), f64([4, 5])]],
  bmm: [(a, b) => a!.bmm(b!), () => [f64([2, 3, 4]), f64([2, 4, 2])]],
  linear: [(x, w, b) => torch.linear(x!, w!, b!), () => [f64([2, 3]), f64([4, 3]), f64([4])]],
  embedding: [(w) => torch.embedding(w!, index([1, 3, 1], [3])), () => [f64([4, 3])]],
  layerNorm: [(x, w, b) => torch.layerNorm(x!, [4], w!, b!), () => [f64([3, 4]), f64([4]), f64([4])]],
  softmax: [(a) => a!.softmax(-1), () => [f64([3, 4])]],
  logSoftmax: [(a) => a!.logSoftmax(-1), () => [f64([3, 4])]],
  crossEntropy: [(a) => torch.crossEntropy(a!, index([1, 0, 3]), { reduction: "none" }), () => [f64([3, 4])]],
  crossEntropySmoothed: [(a) => torch.crossEntropy(a!, index([1, 0, 3]), { labelSmoothing: 0.1 }), () => [f64([3, 4])]],
  dropoutEval: [(a) => torch.dropout(a!, 0.5, false), () => [f64([4])]],
};

test("every differentiable op matches finite differences in float64", () => {
  torch.manualSeed(1234);
  for (const [name, [fn, make]] of Object.entries(cases)) {
    tidy(() => {
      const result = gradcheck(fn, make());
      for (const [i, err] of result.maxRelError.entries()) {
        assert.ok(err < 1e-6, `${name}: input ${i} relative gradient error ${err}`);
      }
    });
  }
});

test("gradcheck detects a wrong gradient", () => {
  // detach() hides one factor from autograd: backward gives x, finite differences give 2x.
  const result = tidy(() => gradcheck((a) => a!.detach().mul(a!), [positive([4])]));
  assert.ok(result.maxAbsError[0]! > 1e-3);
});

test("shape errors become TorchError naming op and shapes", () => {
  tidy(() => {
    const a = torch.zeros([2, 3]);
    const b = torch.zeros([4, 5]);
    assert.throws(() => a.matmul(b), (err: unknown) => {
      assert.ok(err instanceof torch.TorchError);
      assert.equal(err.op, "matmul");
      assert.deepEqual(err.inputs, ["float32[2,3]", "float32[4,5]"]);
      assert.match(err.message, /^matmul: .*2x3 and 4x5.*\(inputs: float32\[2,3\], float32\[4,5\]\)$/);
      return true;
    });
    assert.throws(() => torch.embedding(a, index([7])), (err: unknown) => {
      assert.ok(err instanceof torch.TorchError);
      assert.equal(err.kind, "index");
      return true;
    });
  });
});

test("bad arguments throw TypeError, not a crash", () => {
  assert.throws(() => torch.zeros([2, -1]), torch.TorchError);
  assert.throws(() => torch.zeros([2.5]), TypeError);
  assert.throws(() => torch.fromArray(new Float32Array(3), [2, 2]), /data has 3 elements but shape needs 4/);
});

test("dispose frees, double dispose is harmless, use after dispose throws", () => {
  const before = torch.liveTensorCount();
  const t = torch.ones([3]);
  assert.equal(torch.liveTensorCount(), before + 1);
  t.dispose();
  t.dispose();
  assert.equal(torch.liveTensorCount(), before);
  assert.throws(() => t.exp(), /already disposed/);
});

test("tidy frees intermediates and keeps results", () => {
  const before = torch.liveTensorCount();
  const kept = tidy(() => {
    const a = torch.ones([4]);
    const b = a.mul(2).add(1);
    return { b, list: [b.exp()] };
  });
  assert.equal(torch.liveTensorCount(), before + 2);
  assert.deepEqual(kept.b.toArray(), [3, 3, 3, 3]);
  kept.b.dispose();
  kept.list[0]!.dispose();
  assert.equal(torch.liveTensorCount(), before);
  assert.throws(() =>
    tidy(() => {
      torch.ones([2]);
      throw new Error("boom");
    }),
  );
  assert.equal(torch.liveTensorCount(), before, "a scope left by an exception frees its tensors");
});

test("noGrad disables recording and restores the mode", () => {
  tidy(() => {
    const x = torch.ones([2]).requiresGrad_();
    const y = torch.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(x.mul(2).requiresGrad, true);
  });
});

test("AdamW matches hand-computed first steps", () => {
  tidy(() => {
    const p = torch.tensor([1.0, -2.0], "float64");
    const opt = new torch.AdamW([{ name: "p", param: p, weightDecay: 0.1 }], { lr: 0.01 });
    p.grad = torch.tensor([0.5, -0.25], "float64");
    opt.step();
    // Step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², update = lr * g / (|g| + eps) after decay.
    const expected = [1.0 * (1 - 0.01 * 0.1) - 0.01 * (0.5 / (0.5 + 1e-8)),
      -2.0 * (1 - 0.01 * 0.1) - 0.01 * (-0.25 / (0.25 + 1e-8))];
    const got = p.toArray();
    assert.ok(Math.abs(got[0]! - expected[0]!) < 1e-12, `got ${got[0]}`);
    assert.ok(Math.abs(got[1]! - expected[1]!) < 1e-12, `got ${got[1]}`);
    opt.dispose();
  });
});

test("clipGradNorm scales to the max norm", () => {
  tidy(() => {
    const p = torch.zeros([2], "float64");
    p.grad = torch.tensor([3, 4], "float64");
    const norm = torch.clipGradNorm([p], 1);
    assert.equal(norm, 5);
    const g = p.grad!.toArray();
    assert.ok(Math.abs(g[0]! - 3 / (5 + 1e-6)) < 1e-12);
    assert.ok(Math.abs(g[1]! - 4 / (5 + 1e-6)) < 1e-12);
  });
});

test("setNumThreads reads back for libtorch and OpenBLAS", () => {
  const before = torch.getNumThreads();
  torch.setNumThreads(1, 1);
  assert.deepEqual(torch.getNumThreads(), { torch: 1, blas: 1 });
  torch.setNumThreads(before.torch, before.blas ?? 1);
});

test("rng state round trip reproduces samples", () => {
  tidy(() => {
    torch.manualSeed(7);
    const state = torch.getRngState();
    const a = torch.randn([5]).toArray();
    torch.setRngState(state);
    const b = torch.randn([5]).toArray();
    assert.deepEqual(a, b);
  });
});
