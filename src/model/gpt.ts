/**
 * A decoder-only GPT: learned token and position embeddings, pre-LayerNorm blocks of causal
 * multi-head attention and a GELU MLP, a final LayerNorm and an untied output layer.
 *
 * Any parameter can be *conditioned*: it then has m copies θ⁽ⁱ⁾ = θ₀ + δᵢ, and each example in
 * a batch uses Σᵢ wᵢ·θ⁽ⁱ⁾ for its own weight vector w. Every parameter enters the network
 * linearly (linear layers, embedding tables, LayerNorm gains and biases), so mixing each layer's
 * outputs per example equals running the example with its merged weights.
 */
import * as torch from "../torch/index.js";
import { Tensor, tidy, keep } from "../torch/index.js";
import { ConfigError, parameterShapes, type GptConfig } from "./config.js";
import { addLinearWeightDelta, deltaTensorShapes, mergedDelta, mixedDense, type DeltaSpec } from "./deltas.js";
import { KVCache } from "./kv-cache.js";

/** Past keys and values a model keeps between decoding steps. */
export interface DecodeCache {
  /** Number of positions cached. */
  readonly length: number;
  dispose(): void;
}

/**
 * Model interface that sampling and scoring need: next-token logits for a batch, with an optional
 * cache for incremental decoding. Gpt implements it, and so do mixtures of several models.
 */
export interface CausalLM {
  readonly config: { readonly contextLength: number; readonly vocabSize: number };
  newCache(): DecodeCache;
  forward(ids: Tensor, options: ForwardOptions): Tensor;
}

/** Inputs of one forward pass besides the token ids. */
export interface ForwardOptions {
  /** Position of each token [B, T] (int64); left-padded rows start their real tokens at 0. */
  positions: Tensor;
  /** Which key positions hold real tokens [B, Tk] (bool), Tk counting cached keys; all when omitted. */
  keyMask?: Tensor | null;
  /** Reused and extended with this call's keys and values; from the same model's `newCache`. */
  cache?: DecodeCache | null;
  /** Mixing weights [B, m] for conditioned layers; required when the model has any. */
  mix?: Tensor | null;
  /** Applies dropout when true. */
  train?: boolean;
  /** Computes logits for the last position only ([B, 1, V]). */
  lastOnly?: boolean;
  /** Computes logits for positions logitsFrom… only ([B, T - logitsFrom, V]). */
  logitsFrom?: number;
}

/**
 * The GPT's parameters by name. A conditioned parameter keeps its base value under its own name
 * and its m deltas under the names `deltaTensorShapes` gives (see deltas.ts).
 */
export class Gpt implements CausalLM {
  readonly config: GptConfig;
  /** Every tensor the model owns: base parameters and delta tensors, by storage name. */
  readonly params: Map<string, Tensor>;
  /** Conditioned parameters (base names) and how their deltas are stored. */
  readonly deltas: Map<string, DeltaSpec>;
  /** Number of copies m of each conditioned parameter (0 when none is conditioned). */
  readonly numCopies: number;

  constructor(config: GptConfig, params: Map<string, Tensor>, deltas = new Map<string, DeltaSpec>(), numCopies = 0) {
    const shapes = parameterShapes(config);
    if (deltas.size > 0 && (!Number.isInteger(numCopies) || numCopies < 1)) {
      throw new ConfigError(`model weights: ${deltas.size} conditioned parameters need numCopies ≥ 1, got ${numCopies}`);
    }
    const expected = new Map(shapes);
    for (const [name, spec] of deltas) {
      const shape = shapes.get(name);
      if (shape === undefined) throw new ConfigError(`model weights: conditioned parameter "${name}" does not exist`);
      for (const [storage, deltaShape] of deltaTensorShapes(name, shape, spec, numCopies)) expected.set(storage, deltaShape);
    }
    for (const [name, shape] of expected) {
      const p = params.get(name);
      if (p === undefined) throw new ConfigError(`model weights: parameter "${name}" is missing`);
      if (p.shape.join(",") !== shape.join(",")) {
        throw new ConfigError(`model weights: parameter "${name}" has shape [${p.shape}] but the config needs [${shape}]`);
      }
    }
    for (const name of params.keys()) {
      if (!expected.has(name)) throw new ConfigError(`model weights: unexpected parameter "${name}"`);
    }
    this.config = config;
    this.params = params;
    this.deltas = deltas;
    this.numCopies = deltas.size > 0 ? numCopies : 0;
  }

  /** A new model with GPT-2-style initialisation drawn from libtorch's seeded generator. */
  static init(config: GptConfig, seed: number): Gpt {
    torch.manualSeed(seed);
    const params = new Map<string, Tensor>();
    const residualStd = 0.02 / Math.sqrt(2 * config.nLayers);
    for (const [name, shape] of parameterShapes(config)) {
      const t = torch.noGrad(() => {
        if (name.includes(".ln_") || name.startsWith("ln_f")) {
          return name.endsWith(".weight") ? torch.ones(shape) : torch.zeros(shape);
        }
        if (name.endsWith(".bias")) return torch.zeros(shape);
        const std = name.endsWith("o_proj.weight") || name.endsWith("fc_out.weight") ? residualStd : 0.02;
        return torch.tidy(() => torch.randn(shape).mul(std));
      });
      params.set(name, keep(t));
    }
    return new Gpt(config, params);
  }

  /** Every tensor the model owns, in a fixed order. */
  parameters(): Tensor[] {
    return [...this.params.values()];
  }

  /**
   * Names of the tensors training updates: every delta tensor, plus the shared (unconditioned)
   * parameters when `shared` is true. Bases of conditioned parameters stay frozen at π_ref.
   */
  trainableNames(shared: boolean): string[] {
    const deltaStorage = new Set<string>();
    const shapes = parameterShapes(this.config);
    for (const [name, spec] of this.deltas) {
      for (const storage of deltaTensorShapes(name, shapes.get(name)!, spec, this.numCopies).keys()) deltaStorage.add(storage);
    }
    return [...this.params.keys()].filter((name) => deltaStorage.has(name) || (shared && shapes.has(name) && !this.deltas.has(name)));
  }

  /** Number of scalar parameters, counting every conditioned copy. */
  parameterCount(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.numel;
    return n;
  }

  /** Marks every parameter as trainable or frozen. */
  requiresGrad_(flag: boolean): void {
    for (const p of this.params.values()) p.requiresGrad_(flag);
  }

  newCache(): KVCache {
    return new KVCache(this.config.nLayers);
  }

  /** Frees every parameter. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
  }

  /**
   * A copy whose parameters listed in `specs` get m deltas on top of their current values (the
   * CLP initialisation: every copy starts at π_ref). Dense deltas start at zero; low-rank deltas
   * draw A ~ N(0, 1/in) from libtorch's generator seeded with `seed` and set B to zero.
   */
  withDeltas(specs: ReadonlyMap<string, DeltaSpec>, m: number, seed: number): Gpt {
    if (this.deltas.size > 0) throw new ConfigError("withDeltas: the model is already conditioned");
    if (!Number.isInteger(m) || m < 1) throw new ConfigError(`withDeltas: m must be a positive integer, got ${m}`);
    const shapes = parameterShapes(this.config);
    for (const name of specs.keys()) {
      if (!shapes.has(name)) throw new ConfigError(`withDeltas: no parameter named "${name}"`);
    }
    torch.manualSeed(seed);
    const params = new Map<string, Tensor>();
    torch.noGrad(() => {
      for (const [name, p] of this.params) params.set(name, keep(tidy(() => p.detach().clone())));
      for (const [name, spec] of specs) {
        for (const [storage, shape] of deltaTensorShapes(name, shapes.get(name)!, spec, m)) {
          const isA = storage.endsWith(".lora_a");
          const init = isA ? tidy(() => torch.randn(shape).mul(1 / Math.sqrt(shape[2]!))) : torch.zeros(shape);
          params.set(storage, keep(init));
        }
      }
    });
    return new Gpt(this.config, params, new Map(specs), m);
  }

  /** Returns the tensors that store the deltas of conditioned parameter `name`. */
  deltaTensors(name: string): Tensor[] {
    const spec = this.deltas.get(name)!;
    const shape = parameterShapes(this.config).get(name)!;
    return [...deltaTensorShapes(name, shape, spec, this.numCopies).keys()].map((storage) => this.params.get(storage)!);
  }

  /**
   * A plain (unconditioned) model whose conditioned parameters are merged as θ₀ + Σᵢ wᵢ δᵢ.
   * Decoding with it costs the same as the base model. Shared parameters are shared, not copied:
   * dispose the merged model with `disposeMerged`.
   */
  merge(weights: readonly number[]): Gpt {
    const plain = new Map<string, Tensor>();
    for (const name of parameterShapes(this.config).keys()) plain.set(name, this.params.get(name)!);
    if (this.deltas.size === 0) return new Gpt(this.config, plain);
    if (weights.length !== this.numCopies) {
      throw new ConfigError(`merge: expected ${this.numCopies} weights, got ${weights.length}`);
    }
    const w = torch.tensor([...weights]);
    try {
      torch.noGrad(() => {
        for (const [name, spec] of this.deltas) {
          const base = this.params.get(name)!;
          plain.set(name, keep(tidy(() => base.add(mergedDelta(spec, this.deltaTensors(name), w)))));
        }
      });
    } finally {
      w.dispose();
    }
    return new Gpt(this.config, plain);
  }

  /** Frees only the parameters `merge` created, leaving the shared ones to their owner. */
  disposeMerged(owner: Gpt): void {
    for (const [name, p] of this.params) if (owner.params.get(name) !== p) p.dispose();
  }

  private requireMix(name: string, mix: Tensor | null): Tensor {
    if (mix === null) throw new ConfigError(`parameter "${name}" is conditioned on ${this.numCopies} weights; pass mix [B, m]`);
    return mix;
  }

  private linear(name: string, x: Tensor, mix: Tensor | null): Tensor {
    const weightName = `${name}.weight`;
    const biasName = `${name}.bias`;
    let y = torch.linear(x, this.params.get(weightName)!, this.params.get(biasName) ?? null);
    const weightSpec = this.deltas.get(weightName);
    if (weightSpec !== undefined) {
      y = addLinearWeightDelta(y, x, weightSpec, this.deltaTensors(weightName), this.requireMix(weightName, mix));
    }
    if (this.deltas.has(biasName)) {
      const rows = mixedDense(this.deltaTensors(biasName)[0]!, this.requireMix(biasName, mix));
      y = y.add(rows.reshape(x.size(0), 1, -1));
    }
    return y;
  }

  private embedding(name: string, ids: Tensor, mix: Tensor | null): Tensor {
    const weightName = `${name}.weight`;
    let y = torch.embedding(this.params.get(weightName)!, ids);
    if (this.deltas.has(weightName)) {
      const delta = this.deltaTensors(weightName)[0]!;
      const [m, rows, dim] = delta.shape as [number, number, number];
      const rowMix = this.requireMix(weightName, mix);
      // Look up every copy's row at once from a [rows, m·dim] view, then mix the copies.
      const perCopy = torch.embedding(delta.permute(1, 0, 2).reshape(rows, m * dim), ids).reshape(ids.size(0), ids.size(1), m, dim);
      y = y.add(perCopy.mul(rowMix.reshape(ids.size(0), 1, m, 1)).sum(2));
    }
    return y;
  }

  private layerNorm(name: string, x: Tensor, mix: Tensor | null): Tensor {
    const { dModel, layerNormEps } = this.config;
    const weightName = `${name}.weight`;
    const biasName = `${name}.bias`;
    let y = torch.layerNorm(x, [dModel], this.params.get(weightName)!, this.params.get(biasName)!, layerNormEps);
    const batch = x.size(0);
    if (this.deltas.has(weightName)) {
      const scale = mixedDense(this.deltaTensors(weightName)[0]!, this.requireMix(weightName, mix)).reshape(batch, 1, dModel);
      y = y.add(torch.layerNorm(x, [dModel], null, null, layerNormEps).mul(scale));
    }
    if (this.deltas.has(biasName)) {
      y = y.add(mixedDense(this.deltaTensors(biasName)[0]!, this.requireMix(biasName, mix)).reshape(batch, 1, dModel));
    }
    return y;
  }

  /** Logits [B, T, V] (or [B, 1, V] with lastOnly) for token ids [B, T]. */
  forward(ids: Tensor, options: ForwardOptions): Tensor {
    const { config } = this;
    const [batch, steps] = ids.shape as [number, number];
    const cache = options.cache ?? null;
    if (cache !== null && !(cache instanceof KVCache)) throw new TypeError("Gpt.forward: the cache must come from this model's newCache()");
    const past = cache?.length ?? 0;
    const train = options.train ?? false;
    const mix = options.mix ?? null;
    if (past + steps > config.contextLength) {
      throw new ConfigError(
        `sequence of ${past + steps} tokens exceeds the model's contextLength ${config.contextLength}`,
      );
    }
    if (this.deltas.size > 0 && (mix === null || mix.shape.join(",") !== `${batch},${this.numCopies}`)) {
      throw new ConfigError(`this conditioned model needs mix weights of shape [${batch}, ${this.numCopies}]`);
    }
    const heads = config.nHeads;
    const headDim = config.dModel / heads;
    let x = this.embedding("wte", ids, mix).add(this.embedding("wpe", options.positions, mix));
    if (train && config.dropout > 0) x = torch.dropout(x, config.dropout, true);

    // disallowed[b, 0, t, k]: query t (absolute position past + t) may not see key k.
    const totalKeys = past + steps;
    const queryIndex = torch.arange(past, totalKeys).reshape(steps, 1);
    const keyIndex = torch.arange(0, totalKeys).reshape(1, totalKeys);
    let disallowed = keyIndex.gt(queryIndex);
    if (options.keyMask) {
      const padded = options.keyMask.logicalNot().reshape(batch, 1, 1, totalKeys);
      // A padding query would otherwise see no key at all; letting it see itself keeps softmax finite.
      disallowed = disallowed.logicalOr(padded).logicalAnd(keyIndex.ne(queryIndex));
    }
    const scale = 1 / Math.sqrt(headDim);

    for (let layer = 0; layer < config.nLayers; layer++) {
      const prefix = `h.${layer}`;
      const h = this.layerNorm(`${prefix}.ln_1`, x, mix);
      const split = (t: Tensor): Tensor => t.reshape(batch, steps, heads, headDim).transpose(1, 2);
      const q = split(this.linear(`${prefix}.attn.q_proj`, h, mix));
      let k = split(this.linear(`${prefix}.attn.k_proj`, h, mix));
      let v = split(this.linear(`${prefix}.attn.v_proj`, h, mix));
      if (cache !== null) [k, v] = cache.append(layer, k, v);
      let att = q.matmul(k.transpose(2, 3)).mul(scale).maskedFill(disallowed, -Infinity).softmax(-1);
      if (train && config.dropout > 0) att = torch.dropout(att, config.dropout, true);
      const y = att.matmul(v).transpose(1, 2).reshape(batch, steps, config.dModel);
      let attnOut = this.linear(`${prefix}.attn.o_proj`, y, mix);
      if (train && config.dropout > 0) attnOut = torch.dropout(attnOut, config.dropout, true);
      x = x.add(attnOut);

      const h2 = this.layerNorm(`${prefix}.ln_2`, x, mix);
      let m = this.linear(`${prefix}.mlp.fc_in`, h2, mix).gelu("none");
      m = this.linear(`${prefix}.mlp.fc_out`, m, mix);
      if (train && config.dropout > 0) m = torch.dropout(m, config.dropout, true);
      x = x.add(m);
    }
    if (cache !== null) cache.commit(steps);
    if (options.lastOnly) x = x.narrow(1, steps - 1, 1);
    else if (options.logitsFrom) x = x.narrow(1, options.logitsFrom, steps - options.logitsFrom);
    x = this.layerNorm("ln_f", x, mix);
    return this.linear("lm_head", x, mix);
  }
}
