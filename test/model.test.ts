import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Gpt } from "../src/model/gpt.js";
import type { GptConfig } from "../src/model/config.js";
import { generate } from "../src/model/generate.js";
import { loadSafetensors, saveSafetensors, CheckpointError } from "../src/model/safetensors.js";
import { lmLoss, makeOptimizer } from "../src/train/lm.js";
import { makeTempDir } from "./support/temp-dir.js";

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
  const cond = base.withDeltas(new Map(names.map((n) => [n, { kind: "dense" } as const])), 3, 1);
  // Perturbs each copy differently so the copies disagree.
  torch.noGrad(() => {
    for (const n of names) tidy(() => cond.params.get(`${n}.delta`)!.add_(torch.randn(cond.params.get(`${n}.delta`)!.shape).mul(0.05)));
  });
  for (let i = 0; i < 3; i++) {
    const w = [0, 0, 0];
    w[i] = 1;
    const merged = cond.merge(w);
    for (const n of names) {
      const diff = tidy(() => {
        const copy = cond.params.get(n)!.add(cond.params.get(`${n}.delta`)!.select(0, i));
        return merged.params.get(n)!.sub(copy).abs().amax().item();
      });
      assert.equal(diff, 0, `${n} copy ${i}`);
    }
    merged.disposeMerged(cond);
  }
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
  const dir = makeTempDir("clp-st-");
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
