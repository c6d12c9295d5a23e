import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../src/torch/index.js";
import { Gpt } from "../src/model/gpt.js";
import type { GptConfig } from "../src/model/config.js";
import { mergedDelta } from "../src/model/deltas.js";
import { generate } from "../src/model/generate.js";
import { LogitMixture } from "../src/model/logit-mixture.js";
import { conditionedParameters, CONDITIONING_VARIANTS, type ConditioningVariant } from "../src/clp/conditioning.js";
import { ClpPolicy, PolicyMismatchError, type PolicyMetadata } from "../src/clp/policy.js";
import { formatSteeringText, parseSteeringText, PROMPT_FORMAT } from "../src/clp/prompt-format.js";
import { completionLogProb } from "../src/clp/steerable.js";
import { RewardedSoupsPolicy } from "../src/baselines/rewarded-soups.js";
import { LogitMixingPolicy } from "../src/baselines/logit-mixing.js";
import { PerWeightPolicy } from "../src/baselines/per-weight.js";
import { DeraPolicy } from "../src/baselines/dera.js";
import { Tokenizer } from "../src/tokenizer/bpe.js";
import { lmLoss } from "../src/train/lm.js";
import { makeTempDir } from "./support/temp-dir.js";

const { tidy } = torch;
const tokenizer = Tokenizer.load("models/ref/tokenizer.json");
const config: GptConfig = { vocabSize: tokenizer.vocabSize, contextLength: 64, dModel: 32, nLayers: 2, nHeads: 4, dMlp: 64, dropout: 0, layerNormEps: 1e-5 };
const lora = { rank: 2, alpha: 4, targets: ["q_proj", "v_proj", "fc_in", "lm_head"] as const };
const objectives = ["coverage", "brevity", "faithfulness"];
const weights = [[0.2, 0.5, 0.3], [1, 0, 0], [0, 0.25, 0.75], [0, 0, 1]];
const ids = torch.keep(torch.int64Tensor([3, 40, 5, 600, 7, 8, 9, 1000, 11, 12, 13, 14, 15, 16, 17, 18], [4, 4]));
const positions = torch.keep(torch.arange(0, 4).reshape(1, 4).expand(4, 4));

function metadata(variant: ConditioningVariant, extra: Partial<PolicyMetadata> = {}): Omit<PolicyMetadata, "kind" | "step"> {
  return {
    objectives,
    variant,
    lora: variant === "lora" ? { ...lora, targets: [...lora.targets] } : null,
    promptFormat: variant === "none" ? PROMPT_FORMAT : null,
    promptWeights: variant === "none",
    klRange: null,
    klCoef: 0.05,
    fixedWeights: null,
    maxSourceTokens: 32,
    normalizer: { objectives, means: [0, 0, 0], stds: [1, 1, 1], samples: 2 } as unknown as PolicyMetadata["normalizer"],
    reference: "test",
    seed: 3,
    ...extra,
  };
}

/** Moves every delta tensor of the policy by seeded noise, so the copies disagree. */
function perturb(model: Gpt, seed: number, scale = 0.05): void {
  torch.manualSeed(seed);
  torch.noGrad(() => {
    for (const [name, t] of model.params) {
      if (/\.(delta|lora_a|lora_b)$/.test(name)) tidy(() => t.add_(torch.randn(t.shape).mul(scale)));
    }
  });
}

function maxDiff(a: torch.Tensor, b: torch.Tensor): number {
  return tidy(() => a.sub(b).abs().amax().item());
}

/**
 * Builds a plain model whose conditioned parameters are θ₀ + Σᵢ wᵢδᵢ computed with autograd, so
 * gradients flow back to the deltas: the reference against which output mixing is checked.
 */
function mergedWithGrad(model: Gpt, w: readonly number[]): Gpt {
  const params = new Map<string, torch.Tensor>();
  for (const name of conditionedParameters(model.config, "full").keys()) params.set(name, model.params.get(name)!);
  const wT = torch.tensor([...w]);
  for (const [name, spec] of model.deltas) params.set(name, model.params.get(name)!.add(mergedDelta(spec, model.deltaTensors(name), wT)));
  return new Gpt(model.config, params);
}

const variants = CONDITIONING_VARIANTS.filter((v) => v !== "none");

test("every variant at step 0 equals π_ref exactly", () => {
  const reference = Gpt.init(config, 1);
  const expected = torch.keep(torch.noGrad(() => reference.forward(ids, { positions })));
  for (const variant of CONDITIONING_VARIANTS) {
    const policy = ClpPolicy.fromReference(reference, tokenizer, metadata(variant));
    const mix = policy.mixTensor(weights);
    const mixed = torch.noGrad(() => policy.model.forward(ids, { positions, mix }));
    assert.equal(maxDiff(mixed, expected), 0, `${variant}: mixed batch`);
    for (const w of weights) {
      const decoder = policy.decoder({ weights: w });
      const single = torch.noGrad(() => decoder.model.forward(ids, { positions }));
      assert.equal(maxDiff(single, expected), 0, `${variant}: merged at [${w}]`);
      decoder.dispose();
    }
    mix?.dispose();
    mixed.dispose();
    policy.dispose();
  }
  expected.dispose();
  reference.dispose();
});

test("mixed batch equals per-row merged weights", () => {
  const reference = Gpt.init(config, 2);
  for (const variant of variants) {
    const policy = ClpPolicy.fromReference(reference, tokenizer, metadata(variant));
    perturb(policy.model, 4);
    const mix = policy.mixTensor(weights)!;
    const mixed = torch.noGrad(() => policy.model.forward(ids, { positions, mix }));
    weights.forEach((w, b) => {
      const decoder = policy.decoder({ weights: w });
      const single = torch.noGrad(() => decoder.model.forward(ids.narrow(0, b, 1), { positions: positions.narrow(0, b, 1) }));
      const diff = tidy(() => maxDiff(mixed.narrow(0, b, 1), single));
      assert.ok(diff < 1e-5, `${variant} row ${b}: max difference ${diff}`);
      single.dispose();
      decoder.dispose();
    });
    mix.dispose();
    mixed.dispose();
    policy.dispose();
  }
  reference.dispose();
});

test("mixed batch gradients equal per-row merged gradients", () => {
  const reference = Gpt.init(config, 3);
  const rows = [[3, 4, 5, 6], [7, 8, 9, 10], [300, 12, 13, 14], [15, 2000, 17, 18]];
  const targets = rows.map((r) => r.map((x) => x + 1));
  for (const variant of variants) {
    const policy = ClpPolicy.fromReference(reference, tokenizer, metadata(variant));
    perturb(policy.model, 5);
    const model = policy.model;
    const names = model.trainableNames(true);
    const tensors = names.map((n) => model.params.get(n)!);
    for (const t of tensors) t.requiresGrad_(true);
    const mix = policy.mixTensor(weights)!;
    tidy(() => lmLoss(model, rows, targets, false, mix).backward());
    const mixedGrads = tensors.map((t) => t.grad!.toFloat64Array());
    for (const t of tensors) t.grad!.zero_();
    // Per-row losses through explicitly merged weights; the batch loss is their mean.
    tidy(() => {
      let total: torch.Tensor | null = null;
      weights.forEach((w, b) => {
        const merged = mergedWithGrad(model, w);
        const loss = lmLoss(merged, [rows[b]!], [targets[b]!], false).div(rows.length);
        total = total === null ? loss : total.add(loss);
      });
      total!.backward();
    });
    names.forEach((name, j) => {
      const expected = tensors[j]!.grad!.toFloat64Array();
      const worst = mixedGrads[j]!.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
      assert.ok(worst < 2e-5, `${variant} ${name}: max gradient difference ${worst}`);
    });
    for (const t of tensors) t.requiresGrad_(false);
    mix.dispose();
    policy.dispose();
  }
  reference.dispose();
});

test("logit-CLP decodes the geometric mixture of its heads", () => {
  const reference = Gpt.init(config, 4);
  const policy = ClpPolicy.fromReference(reference, tokenizer, metadata("logit"));
  perturb(policy.model, 6, 0.5);
  const w = [0.2, 0.5, 0.3];
  const heads = [0, 1, 2].map((i) => {
    const vertex = [0, 0, 0];
    vertex[i] = 1;
    const decoder = policy.decoder({ weights: vertex });
    const logp = torch.keep(torch.noGrad(() => decoder.model.forward(ids, { positions }).logSoftmax(-1)));
    decoder.dispose();
    return logp;
  });
  // Π pᵢ^wᵢ, normalised: log-softmax of Σ wᵢ log pᵢ.
  const geometric = torch.keep(tidy(() => heads[0]!.mul(w[0]!).add(heads[1]!.mul(w[1]!)).add(heads[2]!.mul(w[2]!)).logSoftmax(-1)));
  const decoder = policy.decoder({ weights: w });
  const mixed = torch.noGrad(() => decoder.model.forward(ids, { positions }).logSoftmax(-1));
  const diff = maxDiff(mixed, geometric);
  assert.ok(diff < 1e-4, `max log-probability difference ${diff}`);
  decoder.dispose();
  for (const t of [...heads, geometric, mixed]) t.dispose();
  policy.dispose();
  reference.dispose();
});

test("LoRA merge adds scale times the weighted BA products", () => {
  const reference = Gpt.init(config, 5);
  const policy = ClpPolicy.fromReference(reference, tokenizer, metadata("lora"));
  perturb(policy.model, 7);
  const w = [0.6, 0.4, 0];
  const decoder = policy.decoder({ weights: w });
  const merged = decoder.model as Gpt;
  const name = "h.1.attn.v_proj.weight";
  const a = policy.model.params.get(`${name}.lora_a`)!;
  const b = policy.model.params.get(`${name}.lora_b`)!;
  const expected = tidy(() => {
    let acc = policy.model.params.get(name)!;
    for (let i = 0; i < 3; i++) acc = acc.add(b.select(0, i).matmul(a.select(0, i)).mul((w[i]! * lora.alpha) / lora.rank));
    return acc;
  });
  const diff = maxDiff(merged.params.get(name)!, expected);
  assert.ok(diff < 1e-6, `max weight difference ${diff}`);
  // The layers LoRA does not target are π_ref's own tensors.
  assert.equal(merged.params.get("h.1.attn.k_proj.weight"), policy.model.params.get("h.1.attn.k_proj.weight"));
  expected.dispose();
  decoder.dispose();
  policy.dispose();
  reference.dispose();
});

test("steering text round trip", () => {
  const text = formatSteeringText({ weights: [0.25, 0.75], kl: 0.05 });
  assert.equal(text, "weights: 0.25 0.75\nkl: 0.0500\n");
  const parsed = parseSteeringText(text + "TL;DR:");
  assert.deepEqual(parsed.weights, [0.25, 0.75]);
  assert.equal(parsed.kl, 0.05);
  assert.equal(parsed.rest, "TL;DR:");
  assert.equal(formatSteeringText({ weights: parsed.weights, kl: parsed.kl }), text);
  // The prompt shows w to 2 decimals.
  assert.deepEqual(parseSteeringText(formatSteeringText({ weights: [1 / 3, 1 / 3, 1 / 3], kl: null })).weights, [0.33, 0.33, 0.33]);
  assert.equal(formatSteeringText({ weights: null, kl: null }), "");
  assert.deepEqual(parseSteeringText("no steering here").weights, null);
  assert.throws(() => formatSteeringText({ weights: null, kl: 0 }), /kl 0 cannot be written into a prompt/);
  // A prompt-conditioned policy reads the steering lines between the description and "TL;DR:".
  const reference = Gpt.init(config, 6);
  const policy = ClpPolicy.fromReference(reference, tokenizer, metadata("none"));
  const prompt = policy.prompt("A tool for parsing files", { weights: [0.2, 0.3, 0.5] });
  assert.equal(tokenizer.decode(prompt), "A tool for parsing files\nweights: 0.20 0.30 0.50\nTL;DR:");
  policy.dispose();
  reference.dispose();
});

test("KL-steerable policy writes α and rejects α outside its range", () => {
  const reference = Gpt.init(config, 7);
  const policy = ClpPolicy.fromReference(reference, tokenizer, metadata("attn", { promptFormat: PROMPT_FORMAT, klRange: [0.01, 0.2] }));
  assert.equal(tokenizer.decode(policy.prompt("X", { weights: [1, 0, 0], kl: 0.1 })), "X\nkl: 0.100\nTL;DR:");
  assert.equal(tokenizer.decode(policy.prompt("X", { weights: [1, 0, 0] })), "X\nkl: 0.0500\nTL;DR:");
  assert.throws(() => policy.validateSteering({ weights: [1, 0, 0], kl: 0.5 }), /kl 0\.5 is outside the range \[0\.01, 0\.2\]/);
  policy.dispose();
  const fixed = ClpPolicy.fromReference(reference, tokenizer, metadata("attn"));
  assert.throws(() => fixed.validateSteering({ weights: [1, 0, 0], kl: 0.1 }), /trained at the single KL coefficient 0\.05 .* realign it with DeRa/);
  fixed.dispose();
  reference.dispose();
});

test("checkpoint records the variant and rejects mismatches", () => {
  const reference = Gpt.init(config, 8);
  const policy = ClpPolicy.fromReference(reference, tokenizer, metadata("lora"));
  perturb(policy.model, 9);
  const dir = join(makeTempDir("clp-cond-"), "policy");
  policy.save(dir);
  const loaded = ClpPolicy.load(dir, { objectives, variant: "lora", numCopies: 3 });
  assert.deepEqual(loaded.metadata.lora, { ...lora, targets: [...lora.targets] });
  const mix = policy.mixTensor(weights)!;
  const a = torch.noGrad(() => policy.model.forward(ids, { positions, mix }));
  const b = torch.noGrad(() => loaded.model.forward(ids, { positions, mix }));
  assert.equal(maxDiff(a, b), 0);
  for (const t of [a, b, mix]) t.dispose();
  loaded.dispose();
  const mismatch = (expect: Parameters<typeof ClpPolicy.load>[1], pattern: RegExp) =>
    assert.throws(() => ClpPolicy.load(dir, expect), (e: unknown) => e instanceof PolicyMismatchError && pattern.test(e.message));
  mismatch({ variant: "attn" }, /uses conditioning "lora" but the config asks for "attn"/);
  mismatch({ objectives: ["coverage", "brevity"] }, /trained on objectives \[coverage,brevity,faithfulness\] but the config asks for \[coverage,brevity\]/);
  mismatch({ promptFormat: PROMPT_FORMAT }, /prompt format is null but the config asks for "clp-steer\/1"/);
  policy.dispose();
  reference.dispose();
});

/** Two-objective single-weight experts with different parameters, plain or low-rank. */
function experts(reference: Gpt, variant: "none" | "lora"): ClpPolicy[] {
  return [0, 1].map((i) => {
    const fixedWeights = i === 0 ? [1, 0] : [0, 1];
    const expert = ClpPolicy.fromReference(reference, tokenizer, {
      ...metadata(variant),
      objectives: ["coverage", "brevity"],
      promptFormat: null,
      promptWeights: false,
      fixedWeights,
    });
    if (variant === "lora") perturb(expert.model, 20 + i);
    else torch.noGrad(() => tidy(() => expert.model.params.get("h.0.mlp.fc_in.weight")!.add_(torch.randn([config.dMlp, config.dModel]).mul(0.3))));
    return expert;
  });
}

function greedyTokens(model: Gpt | LogitMixture, mix: number[] | null, prompts: number[][]): number[][] {
  return generate(model, prompts, mix === null ? null : prompts.map(() => mix), {
    maxNewTokens: 8, greedy: true, eosId: 0, padId: 1, seeds: prompts.map((_, i) => i),
  }).tokens;
}

test("Rewarded Soups at a vertex reproduces its expert exactly", () => {
  const reference = Gpt.init(config, 10);
  for (const variant of ["none", "lora"] as const) {
    const soup = new RewardedSoupsPolicy(experts(reference, variant));
    for (let i = 0; i < 2; i++) {
      const w = i === 0 ? [1, 0] : [0, 1];
      const soupDecoder = soup.decoder({ weights: w });
      const expertDecoder = soup.experts[i]!.decoder({ weights: w });
      const a = torch.noGrad(() => soupDecoder.model.forward(ids, { positions }));
      const b = torch.noGrad(() => expertDecoder.model.forward(ids, { positions }));
      assert.equal(maxDiff(a, b), 0, `${variant} soup at e${i + 1}`);
      a.dispose();
      b.dispose();
      soupDecoder.dispose();
      expertDecoder.dispose();
    }
    // The same holds for log-probabilities of a given completion through the common interface.
    const completions = [[300, 301, 0], [5, 0]];
    const descriptions = ["A small tool.", "A library for parsing files."];
    for (let i = 0; i < 2; i++) {
      const w = i === 0 ? [1, 0] : [0, 1];
      assert.deepEqual(
        completionLogProb(soup, descriptions, completions, { weights: w }),
        completionLogProb(soup.experts[i]!, descriptions, completions, { weights: w }),
      );
    }
    // Between the vertices the soup interpolates merged parameters (weight deltas, not LoRA factors).
    const mid = soup.decoder({ weights: [0.3, 0.7] });
    const e0 = soup.experts[0]!.decoder({ weights: [1, 0] });
    const e1 = soup.experts[1]!.decoder({ weights: [0, 1] });
    const name = variant === "lora" ? "h.0.attn.q_proj.weight" : "h.0.mlp.fc_in.weight";
    const expected = tidy(() => (e0.model as Gpt).params.get(name)!.mul(0.3).add((e1.model as Gpt).params.get(name)!.mul(0.7)));
    assert.ok(maxDiff((mid.model as Gpt).params.get(name)!, expected) < 1e-6, `${variant} interpolation`);
    expected.dispose();
    for (const d of [mid, e0, e1]) d.dispose();
    soup.dispose();
  }
  reference.dispose();
});

test("full-CLP at a vertex trains only that copy, like its expert", () => {
  const reference = Gpt.init(config, 11);
  const policy = ClpPolicy.fromReference(reference, tokenizer, { ...metadata("full"), objectives: ["coverage", "brevity"] });
  const rows = [[3, 4, 5, 6], [7, 8, 9, 10]];
  const targets = rows.map((r) => r.map((x) => x + 1));
  const names = policy.model.trainableNames(true);
  const tensors = names.map((n) => policy.model.params.get(n)!);
  for (const t of tensors) t.requiresGrad_(true);
  const mix = policy.mixTensor([[0, 1], [0, 1]])!;
  tidy(() => lmLoss(policy.model, rows, targets, false, mix).backward());
  // The expert: π_ref's parameters trained directly on the same batch.
  const expert = new Gpt(config, new Map([...reference.params].map(([n, p]) => [n, torch.keep(tidy(() => p.detach().clone()))])));
  expert.requiresGrad_(true);
  tidy(() => lmLoss(expert, rows, targets, false).backward());
  for (const [name] of policy.model.deltas) {
    const grad = policy.model.params.get(`${name}.delta`)!.grad!;
    const other = tidy(() => grad.select(0, 0).abs().amax().item());
    assert.equal(other, 0, `${name}: copy 1 gets no gradient at e2`);
    const diff = tidy(() => grad.select(0, 1).sub(expert.params.get(name)!.grad!).abs().amax().item());
    assert.ok(diff < 1e-6, `${name}: copy 2 gradient differs from the expert's by ${diff}`);
  }
  mix.dispose();
  expert.dispose();
  policy.dispose();
  reference.dispose();
});

test("logit mixing reproduces experts at vertices and mixes logits between", () => {
  const reference = Gpt.init(config, 12);
  const mixing = new LogitMixingPolicy(experts(reference, "none"));
  const prompts = [[5, 6, 7], [8, 9, 10, 11]];
  for (let i = 0; i < 2; i++) {
    const w = i === 0 ? [1, 0] : [0, 1];
    const d = mixing.decoder({ weights: w });
    const e = mixing.experts[i]!.decoder({ weights: w });
    assert.deepEqual(greedyTokens(d.model as LogitMixture, [...d.mix!], prompts), greedyTokens(e.model as Gpt, null, prompts));
    d.dispose();
    e.dispose();
  }
  const d = mixing.decoder({ weights: [0.4, 0.6] });
  const rowMix = torch.tensor([[0.4, 0.6], [0.4, 0.6], [0.4, 0.6], [0.4, 0.6]]);
  const mixed = torch.noGrad(() => d.model.forward(ids, { positions, mix: rowMix }));
  const e0 = mixing.experts[0]!.decoder({ weights: [1, 0] });
  const e1 = mixing.experts[1]!.decoder({ weights: [0, 1] });
  const expected = tidy(() => torch.noGrad(() => e0.model.forward(ids, { positions }).mul(0.4).add(e1.model.forward(ids, { positions }).mul(0.6))));
  assert.ok(maxDiff(mixed, expected) < 1e-5);
  for (const t of [mixed, expected, rowMix]) t.dispose();
  for (const x of [d, e0, e1]) x.dispose();
  mixing.dispose();
  const small = Gpt.init({ ...config, vocabSize: 100 }, 1);
  assert.throws(() => new LogitMixture([reference, small]), /logit mixing needs one vocabulary, but model 1 has 100 tokens and model 0 has 4096/);
  small.dispose();
  reference.dispose();
});

test("DeRa at the aligned α equals the aligned policy", () => {
  const reference = Gpt.init(config, 13);
  const aligned = ClpPolicy.fromReference(reference, tokenizer, metadata("attn"));
  perturb(aligned.model, 14, 0.2);
  const referenceCopy = new Gpt(config, new Map([...reference.params].map(([n, p]) => [n, torch.keep(tidy(() => p.detach().clone()))])));
  const dera = new DeraPolicy(aligned, referenceCopy);
  const w = [0.2, 0.3, 0.5];
  const rowsMix = (mix: readonly number[]) => torch.tensor(Array.from({ length: 4 }, () => [...mix]));
  const at = (kl: number) => {
    const d = dera.decoder({ weights: w, kl });
    const out = torch.keep(tidy(() => torch.noGrad(() => d.model.forward(ids, { positions, mix: rowsMix(d.mix!) }))));
    d.dispose();
    return out;
  };
  const inner = aligned.decoder({ weights: w });
  const alignedLogits = torch.noGrad(() => inner.model.forward(ids, { positions }));
  const refLogits = torch.noGrad(() => reference.forward(ids, { positions }));
  const same = at(0.05);
  assert.equal(maxDiff(same, alignedLogits), 0);
  // α = 2α₀ gives λ = 1/2: halfway between π_ref's and the aligned logits.
  const half = at(0.1);
  const expected = tidy(() => refLogits.mul(0.5).add(alignedLogits.mul(0.5)));
  assert.ok(maxDiff(half, expected) < 1e-5);
  assert.throws(() => dera.decoder({ weights: w, kl: -1 }), /kl -1 is invalid/);
  for (const t of [alignedLogits, refLogits, same, half, expected]) t.dispose();
  inner.dispose();
  dera.dispose();
  reference.dispose();
});

test("per-weight policy decodes only at trained weights", () => {
  const reference = Gpt.init(config, 15);
  const perWeight = new PerWeightPolicy(experts(reference, "none"));
  assert.deepEqual(perWeight.weights(), [[1, 0], [0, 1]]);
  assert.throws(() => perWeight.decoder({ weights: [0.5, 0.5] }), /no model was trained at w = \[0\.5,0\.5\]; this per-weight run has \[1,0\] \[0,1\]/);
  const d = perWeight.decoder({ weights: [0, 1] });
  const e = perWeight.policies[1]!.decoder({ weights: [0, 1] });
  const a = torch.noGrad(() => d.model.forward(ids, { positions }));
  const b = torch.noGrad(() => e.model.forward(ids, { positions }));
  assert.equal(maxDiff(a, b), 0);
  a.dispose();
  b.dispose();
  d.dispose();
  e.dispose();
  perWeight.dispose();
  assert.throws(() => new RewardedSoupsPolicy([]), /no policies given/);
  reference.dispose();
});
