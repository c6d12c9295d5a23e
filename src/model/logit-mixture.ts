/**
 * A product of experts over models that share a vocabulary: the mixture's logits are
 * Σᵢ wᵢ·logitsᵢ, one forward per model per step, with a per-row weight vector w. Decoding from
 * softmax(Σᵢ wᵢ·logitsᵢ) samples the geometric mixture ∝ Πᵢ πᵢ^wᵢ when Σᵢ wᵢ = 1.
 *
 * Logit mixing of single-objective experts and DeRa-style KL steering (π_ref mixed with an aligned
 * policy, weights 1 − λ and λ, where λ may exceed 1) are both this mixture.
 */
import { ConfigError } from "./config.js";
import type { CausalLM, DecodeCache, ForwardOptions } from "./gpt.js";
import type { Tensor } from "../torch/index.js";

/** One cache per component model. */
class MixtureCache implements DecodeCache {
  constructor(readonly caches: DecodeCache[]) {}

  get length(): number {
    return this.caches[0]?.length ?? 0;
  }

  dispose(): void {
    for (const c of this.caches) c.dispose();
  }
}

/** Mixes the logits of `models` with per-row weights passed as `mix` [B, n] to `forward`. */
export class LogitMixture implements CausalLM {
  readonly config: { contextLength: number; vocabSize: number };

  constructor(readonly models: readonly CausalLM[]) {
    if (models.length < 1) throw new ConfigError("LogitMixture: needs at least one model");
    const vocab = models[0]!.config.vocabSize;
    models.forEach((m, i) => {
      if (m.config.vocabSize !== vocab) {
        throw new ConfigError(`logit mixing needs one vocabulary, but model ${i} has ${m.config.vocabSize} tokens and model 0 has ${vocab}`);
      }
    });
    this.config = { contextLength: Math.min(...models.map((m) => m.config.contextLength)), vocabSize: vocab };
  }

  newCache(): MixtureCache {
    return new MixtureCache(this.models.map((m) => m.newCache()));
  }

  forward(ids: Tensor, options: ForwardOptions): Tensor {
    const mix = options.mix ?? null;
    const batch = ids.size(0);
    const n = this.models.length;
    if (mix === null || mix.shape.join(",") !== `${batch},${n}`) {
      throw new ConfigError(`LogitMixture.forward: needs mix weights of shape [${batch}, ${n}], one per row and model`);
    }
    const cache = options.cache ?? null;
    if (cache !== null && !(cache instanceof MixtureCache)) throw new TypeError("LogitMixture.forward: the cache must come from newCache()");
    let total: Tensor | null = null;
    this.models.forEach((model, i) => {
      const logits = model.forward(ids, { ...options, mix: null, cache: cache?.caches[i] ?? null });
      const weight = mix.narrow(1, i, 1).reshape(batch, 1, 1);
      const term = logits.mul(weight);
      total = total === null ? term : total.add(term);
    });
    return total!;
  }
}
