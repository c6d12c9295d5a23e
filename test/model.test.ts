import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Gpt } from "../src/model/gpt.js";
import type { GptConfig } from "../src/model/config.js";
import { generate } from "../src/model/generate.js";
import { loadSafetensors, saveSafetensors, CheckpointError } from "../src/model/safetensors.js";
import { lmLoss, makeOptimizer } from "../src/train/lm.js";

const { tidy } = torch;
const config: GptConfig = { vocabSize: 61, contextLength: 48, dModel: 32, nLayers: 2, nHeads: 4, dMlp: 64, dropout: 0, layerNormEps: 1e-5 };
const sampling = { maxNewTokens: 12, temperature: 1, eosId: 0, padId: 1 };

test("KV-cache sampling equals sampling without cache", () => {
  const model = Gpt.init(config, 3);
  const prompts = [[5, 9, 2, 7], [3, 3, 8]];
  const seeds = [11, 12];
  const cached = generate(model, prompts, null, { ...sampling, seeds, useCache: true });
  const uncached = generate(model, prompts, null, { ...sampling, seeds, useCache: false });
  assert.deepEqual(cached.tokens, uncached.tokens);
  cached.logProbs.forEach((row, i) => row.forEach((lp, t) => assert.ok(Math.abs(lp - uncached.logProbs[i]![t]!) < 1e-4)));
  model.dispose();
});

test("batched prompts of different lengths generate what each generates alone", () => {
  const model = Gpt.init(config, 4);
  const prompts = [[5, 9, 2, 7, 30, 31, 40], [3], [8, 8, 8, 12]];
  const seeds = [101, 102, 103];
  const batched = generate(model, prompts, null, { ...sampling, seeds });
  prompts.forEach((p, i) => {
    const alone = generate(model, [p], null, { ...sampling, seeds: [seeds[i]!] });
    assert.deepEqual(batched.tokens[i], alone.tokens[0], `prompt ${i}`);
  });
  const greedy = generate(model, prompts, null, { ...sampling, seeds, greedy: true });
  prompts.forEach((p, i) => {
    const alone = generate(model, [p], null, { ...sampling, seeds: [seeds[i]!], greedy: true });
    assert.deepEqual(greedy.tokens[i], alone.tokens[0], `greedy prompt ${i}`);
  });
  model.dispose();
});

test("generation stops at end of text and pads finished rows", () => {
  const model = Gpt.init(config, 5);
  // Makes end of text (id 0) the only likely token: the final LayerNorm outputs all ones, and
  // only output row 0 is non-zero.
  torch.noGrad(() => {
    model.params.get("ln_f.weight")!.zero_();
    model.params.get("ln_f.bias")!.fill_(1);
    const head = model.params.get("lm_head.weight")!;
    head.zero_();
    tidy(() => head.narrow(0, 0, 1).fill_(5));
  });
  const out = generate(model, [[4, 5, 6]], null, { ...sampling, seeds: [1] });
  assert.deepEqual(out.tokens[0], [0]);
  assert.equal(out.finished[0], true);
  model.dispose();
});

test("conditioned copies: e_i merges to copy i exactly and mixing equals merged weights", () => {
  const base = Gpt.init(config, 6);
  const names = [...base.params.keys()].filter((n) => n.includes(".attn."));
  const cond = base.withConditioned(names, 3);
  // Perturbs each copy differently so the copies disagree.
  torch.noGrad(() => {
    for (const n of names) tidy(() => cond.params.get(n)!.add_(torch.randn(cond.params.get(n)!.shape).mul(0.05)));
  });
  for (let i = 0; i < 3; i++) {
    const w = [0, 0, 0];
    w[i] = 1;
    const merged = cond.merge(w);
    for (const n of names) {
      const copy = cond.params.get(n)!.select(0, i);
      assert.ok(torch.tidy(() => torch.noGrad(() => merged.params.get(n)!.sub(copy).abs().amax().item())) === 0, `${n} copy ${i}`);
      copy.dispose();
    }
    merged.disposeMerged(cond);
  }
  // A mixed batch: each row under its own w equals that row under its merged model.
  const weights = [[0.2, 0.5, 0.3], [1, 0, 0], [0, 0.25, 0.75]];
  const ids = torch.fromArray(new BigInt64Array([3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n, 14n]), [3, 4]);
  const positions = torch.arange(0, 4).reshape(1, 4).expand(3, 4);
  const mixed = torch.noGrad(() => cond.forward(ids, { positions, mix: torch.tensor(weights) }));
  weights.forEach((w, b) => {
    const merged = cond.merge(w);
    const single = torch.noGrad(() => merged.forward(ids.narrow(0, b, 1), { positions: positions.narrow(0, b, 1) }));
    const diff = tidy(() => mixed.narrow(0, b, 1).sub(single).abs().amax().item());
    assert.ok(diff < 1e-5, `row ${b}: max difference ${diff}`);
    merged.disposeMerged(cond);
  });
  base.dispose();
  cond.dispose();
});

test("gradients of a mixed batch equal the merged per-row gradients", () => {
  const base = Gpt.init(config, 7);
  const names = [...base.params.keys()].filter((n) => n.includes(".attn.q_proj"));
  const cond = base.withConditioned(names, 2);
  const weights = [[0.3, 0.7], [0.9, 0.1]];
  const rows = [[3, 4, 5, 6], [7, 8, 9, 10]];
  cond.requiresGrad_(true);
  tidy(() => lmLoss(cond, rows, rows.map((r) => r.map((x) => x + 1)), false, torch.tensor(weights)).backward());
  // Because loss = mean over rows, d loss / d W⁽ⁱ⁾ = Σ_b w_bi · d loss_b / d W(w_b) (up to the mean).
  const name = names.find((n) => n.endsWith("weight"))!;
  const gradStack = cond.params.get(name)!.grad!.toFloat64Array();
  let expected: Float64Array | null = null;
  weights.forEach((w, b) => {
    const merged = cond.merge(w);
    const weight = torch.keep(merged.params.get(name)!.detach().clone().requiresGrad_(true));
    const params = new Map(merged.params);
    params.set(name, weight);
    const single = new Gpt(config, params);
    tidy(() => lmLoss(single, [rows[b]!], [rows[b]!.map((x) => x + 1)], false).backward());
    const g = weight.grad!.toFloat64Array();
    const perCopy = new Float64Array(2 * g.length);
    for (let i = 0; i < 2; i++) for (let j = 0; j < g.length; j++) perCopy[i * g.length + j] = (w[i]! * g[j]!) / rows.length;
    expected = expected === null ? perCopy : expected.map((v, j) => v + perCopy[j]!);
    weight.dispose();
    merged.disposeMerged(cond);
  });
  const worst = gradStack.reduce((m, v, j) => Math.max(m, Math.abs(v - expected![j]!)), 0);
  assert.ok(worst < 1e-5, `max gradient difference ${worst}`);
  base.dispose();
  cond.dispose();
});

test("training steps leave the live-tensor count unchanged", () => {
  const model = Gpt.init(config, 8);
  model.requiresGrad_(true);
  const optimizer = makeOptimizer(model, 1e-3, 0.1);
  const rows = [[3, 4, 5, 6, 7], [8, 9, 10, 11, 12]];
  const step = () => {
    tidy(() => lmLoss(model, rows, rows, true).backward());
    torch.clipGradNorm(model.parameters(), 1);
    optimizer.step();
    optimizer.zeroGrad();
  };
  step();
  const before = torch.liveTensorCount();
  for (let i = 0; i < 5; i++) step();
  assert.equal(torch.liveTensorCount(), before);
  optimizer.dispose();
  model.dispose();
});

test("safetensors round trip and corrupt-file errors", () => {
  const dir = mkdtempSync(join(tmpdir(), "clp-st-"));
  const path = join(dir, "t.safetensors");
  const a = torch.keep(torch.randn([3, 4]));
  const b = torch.keep(torch.arange(0, 5));
  saveSafetensors(path, new Map([["a", a], ["b", b]]), { note: "x" });
  const { tensors, metadata } = loadSafetensors(path);
  assert.deepEqual(tensors.get("a")!.toArray(), a.toArray());
  assert.deepEqual(tensors.get("b")!.toArray(), [0, 1, 2, 3, 4]);
  assert.equal(tensors.get("b")!.dtype, "int64");
  assert.equal(metadata.note, "x");
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 7));
  assert.throws(() => loadSafetensors(path), (err: unknown) => err instanceof CheckpointError && /t\.safetensors: tensor "b".*truncated/.test(err.message));
  writeFileSync(path, Buffer.from([1, 2, 3]));
  assert.throws(() => loadSafetensors(path), /too short/);
  for (const t of [a, b, ...tensors.values()]) t.dispose();
});
