/**
 * A decoder-only GPT: learned token and position embeddings, pre-LayerNorm blocks of causal
 * multi-head attention and a GELU MLP, a final LayerNorm and an untied output layer.
 *
 * Any linear layer can be *conditioned*: its weight and bias then hold m copies stacked on a new
 * leading dimension, and each example in a batch uses Σᵢ wᵢ·θ⁽ⁱ⁾ for its own weight vector w.
 * Because the layer is linear in its parameters, mixing the weights per example equals mixing the
 * layer's outputs.
 */
import * as torch from "../torch/index.js";
import { Tensor, tidy, keep } from "../torch/index.js";
import { ConfigError, parameterShapes, type GptConfig } from "./config.js";
import { KVCache } from "./kv-cache.js";

/** Inputs of one forward pass besides the token ids. */
export interface ForwardOptions {
  /** Position of each token [B, T] (int64); left-padded rows start their real tokens at 0. */
  positions: Tensor;
  /** Which key positions hold real tokens [B, Tk] (bool), Tk counting cached keys; all when omitted. */
  keyMask?: Tensor | null;
  /** Reused and extended with this call's keys and values. */
  cache?: KVCache | null;
  /** Mixing weights [B, m] for conditioned layers; required when the model has any. */
  mix?: Tensor | null;
  /** Applies dropout when true. */
  train?: boolean;
  /** Computes logits for the last position only ([B, 1, V]). */
  lastOnly?: boolean;
  /** Computes logits for positions logitsFrom… only ([B, T - logitsFrom, V]). */
  logitsFrom?: number;
}

/** The GPT's parameters by name, with the conditioned subset stacked as [m, ...shape]. */
export class Gpt {
  readonly config: GptConfig;
  readonly params: Map<string, Tensor>;
  /** Names of parameters stored as m stacked copies. */
  readonly conditioned: Set<string>;
  /** Number of copies m of each conditioned parameter (0 when none is conditioned). */
  numCopies: number;

  constructor(config: GptConfig, params: Map<string, Tensor>, conditioned = new Set<string>(), numCopies = 0) {
    const shapes = parameterShapes(config);
    for (const [name, shape] of shapes) {
      const p = params.get(name);
      if (p === undefined) throw new ConfigError(`model weights: parameter "${name}" is missing`);
      const expected = conditioned.has(name) ? [numCopies, ...shape] : shape;
      if (p.shape.join(",") !== expected.join(",")) {
        throw new ConfigError(
          `model weights: parameter "${name}" has shape [${p.shape}] but the config needs [${expected}]`,
        );
      }
    }
    for (const name of params.keys()) {
      if (!shapes.has(name)) throw new ConfigError(`model weights: unexpected parameter "${name}"`);
    }
    this.config = config;
    this.params = params;
    this.conditioned = conditioned;
    this.numCopies = numCopies;
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

  /** Parameter tensors in a fixed order (those that require gradients during training). */
  parameters(): Tensor[] {
    return [...this.params.values()];
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

  /** Frees every parameter. */
  dispose(): void {
    for (const p of this.params.values()) p.dispose();
  }

  /**
   * A copy whose parameters listed in `names` become m stacked copies of the current values
   * (the CLP initialisation: every copy starts at π_ref). The other parameters are cloned.
   */
  withConditioned(names: Iterable<string>, m: number): Gpt {
    if (this.conditioned.size > 0) throw new ConfigError("withConditioned: the model is already conditioned");
    if (!Number.isInteger(m) || m < 1) throw new ConfigError(`withConditioned: m must be a positive integer, got ${m}`);
    const chosen = new Set(names);
    for (const name of chosen) {
      if (!this.params.has(name)) throw new ConfigError(`withConditioned: no parameter named "${name}"`);
    }
    const params = new Map<string, Tensor>();
    torch.noGrad(() => {
      for (const [name, p] of this.params) {
        const copy = chosen.has(name) ? tidy(() => torch.stack(Array.from({ length: m }, () => p))) : p.clone();
        params.set(name, keep(copy.detach()));
        copy.dispose();
      }
    });
    return new Gpt(this.config, params, chosen, m);
  }

  /**
   * A plain (unconditioned) model whose conditioned parameters are merged as Σᵢ wᵢ·θ⁽ⁱ⁾. Decoding
   * with it costs the same as the base model. Shared parameters are shared, not copied: dispose
   * the merged model with `disposeMerged`.
   */
  merge(weights: readonly number[]): Gpt {
    if (this.conditioned.size === 0) return new Gpt(this.config, new Map(this.params));
    if (weights.length !== this.numCopies) {
      throw new ConfigError(`merge: expected ${this.numCopies} weights, got ${weights.length}`);
    }
    const w = torch.tensor([...weights]);
    const params = new Map<string, Tensor>();
    torch.noGrad(() => {
      for (const [name, p] of this.params) {
        if (!this.conditioned.has(name)) {
          params.set(name, p);
          continue;
        }
        const shape = p.shape.slice(1);
        const merged = tidy(() => w.matmul(p.reshape(this.numCopies, -1)).reshape(...shape));
        params.set(name, keep(merged));
      }
    });
    w.dispose();
    return new Gpt(this.config, params);
  }

  /** Frees only the parameters `merge` created, leaving the shared ones to their owner. */
  disposeMerged(owner: Gpt): void {
    for (const [name, p] of this.params) if (owner.params.get(name) !== p) p.dispose();
  }

  private linear(name: string, x: Tensor, mix: Tensor | null): Tensor {
    const weight = this.params.get(`${name}.weight`)!;
    const bias = this.params.get(`${name}.bias`) ?? null;
    const weightMixed = this.conditioned.has(`${name}.weight`);
    const biasMixed = bias !== null && this.conditioned.has(`${name}.bias`);
    if (!weightMixed && !biasMixed) return torch.linear(x, weight, bias);
    if (mix === null) {
      throw new ConfigError(`layer "${name}" is conditioned on ${this.numCopies} weights; pass mix [B, m]`);
    }
    // Σᵢ wᵢ (x W⁽ⁱ⁾ᵀ + b⁽ⁱ⁾) as one matmul against the stacked copies, then a weighted sum over
    // copies. The layer is linear in its parameters, so this equals running each example with its
    // merged weights, without materialising a weight matrix per example.
    const batch = x.size(0);
    const steps = x.size(1);
    const m = this.numCopies;
    const out = weightMixed ? weight.size(1) : weight.size(0);
    const stackedWeight = weightMixed ? weight.reshape(m * out, -1) : weight.repeat(m, 1);
    const stackedBias = bias === null ? null : biasMixed ? bias.reshape(m * out) : bias.repeat(m);
    const perCopy = torch.linear(x, stackedWeight, stackedBias).reshape(batch, steps, m, out);
    return perCopy.mul(mix.reshape(batch, 1, m, 1)).sum(2);
  }

  /** Logits [B, T, V] (or [B, 1, V] with lastOnly) for token ids [B, T]. */
  forward(ids: Tensor, options: ForwardOptions): Tensor {
    const { config } = this;
    const [batch, steps] = ids.shape as [number, number];
    const cache = options.cache ?? null;
    const past = cache?.length ?? 0;
    const train = options.train ?? false;
    const mix = options.mix ?? null;
    if (past + steps > config.contextLength) {
      throw new ConfigError(
        `sequence of ${past + steps} tokens exceeds the model's contextLength ${config.contextLength}`,
      );
    }
    if (this.conditioned.size > 0 && (mix === null || mix.shape.join(",") !== `${batch},${this.numCopies}`)) {
      throw new ConfigError(`this conditioned model needs mix weights of shape [${batch}, ${this.numCopies}]`);
    }
    const heads = config.nHeads;
    const headDim = config.dModel / heads;
    const p = (name: string): Tensor => this.params.get(name)!;

    let x = torch.embedding(p("wte.weight"), ids).add(torch.embedding(p("wpe.weight"), options.positions));
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
      const h = torch.layerNorm(x, [config.dModel], p(`${prefix}.ln_1.weight`), p(`${prefix}.ln_1.bias`), config.layerNormEps);
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

      const h2 = torch.layerNorm(x, [config.dModel], p(`${prefix}.ln_2.weight`), p(`${prefix}.ln_2.bias`), config.layerNormEps);
      let m = this.linear(`${prefix}.mlp.fc_in`, h2, mix).gelu("none");
      m = this.linear(`${prefix}.mlp.fc_out`, m, mix);
      if (train && config.dropout > 0) m = torch.dropout(m, config.dropout, true);
      x = x.add(m);
    }
    if (cache !== null) cache.commit(steps);
    if (options.lastOnly) x = x.narrow(1, steps - 1, 1);
    else if (options.logitsFrom) x = x.narrow(1, options.logitsFrom, steps - options.logitsFrom);
    x = torch.layerNorm(x, [config.dModel], p("ln_f.weight"), p("ln_f.bias"), config.layerNormEps);
    return this.linear("lm_head", x, mix);
  }
}
