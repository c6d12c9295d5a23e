/**
 * Rewarded Soups (Ramé et al., 2023): m experts, expert i finetuned from π_ref on objective i
 * alone, and the policy for w uses the interpolated parameters θ(w) = Σᵢ wᵢ θᵢ.
 *
 * A low-rank expert's parameters are θ_ref + δᵢ with δᵢ = scale·BᵢAᵢ; the soup interpolates those
 * merged parameters, which amounts to interpolating the weight deltas δᵢ, never the factors Aᵢ
 * and Bᵢ (Σ wᵢBᵢ · Σ wᵢAᵢ is not Σ wᵢBᵢAᵢ).
 */
import * as torch from "../torch/index.js";
import { keep, tidy, type Tensor } from "../torch/index.js";
import { Gpt } from "../model/gpt.js";
import type { ClpPolicy } from "../clp/policy.js";
import type { Decoder, Steering, SteerablePolicy } from "../clp/steerable.js";
import { validateWeights } from "../clp/weights.js";
import { promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { checkExpertVertices, checkTrainedKl } from "./experts.js";

/** Interpolates the parameters of m single-objective experts. */
export class RewardedSoupsPolicy implements SteerablePolicy {
  readonly kind = "rewarded-soups" as const;
  readonly objectives: readonly string[];
  readonly tokenizer: Tokenizer;

  constructor(readonly experts: readonly ClpPolicy[]) {
    checkExpertVertices(experts, "Rewarded Soups");
    this.objectives = experts[0]!.objectives;
    this.tokenizer = experts[0]!.tokenizer;
  }

  validateSteering(steering: Steering): void {
    validateWeights(steering.weights, this.objectives);
    checkTrainedKl(this.experts, steering, "Rewarded Soups");
  }

  prompt(description: string, _steering: Steering): number[] {
    return promptIds(this.tokenizer, description, this.experts[0]!.metadata.maxSourceTokens);
  }

  /**
   * Builds the soup at w. Experts with weight 0 are left out, so at a vertex eᵢ the decoder uses expert
   * i's parameters unchanged and reproduces its outputs exactly.
   */
  decoder(steering: Steering): Decoder {
    this.validateSteering(steering);
    const used = steering.weights.map((w, i) => ({ w, i })).filter(({ w }) => w > 0);
    const merged = used.map(({ i }) => this.experts[i]!.decoder({ weights: this.experts[i]!.metadata.fixedWeights! }));
    const created: Tensor[] = [];
    try {
      const params = new Map<string, Tensor>();
      const first = merged[0]!.model as Gpt;
      for (const name of first.params.keys()) {
        if (used.length === 1) {
          params.set(name, first.params.get(name)!);
          continue;
        }
        const soup = keep(
          tidy(() =>
            torch.noGrad(() => {
              let acc = (merged[0]!.model as Gpt).params.get(name)!.mul(used[0]!.w);
              for (let j = 1; j < used.length; j++) acc = acc.add((merged[j]!.model as Gpt).params.get(name)!.mul(used[j]!.w));
              return acc;
            }),
          ),
        );
        created.push(soup);
        params.set(name, soup);
      }
      const model = new Gpt(first.config, params);
      const release = () => {
        for (const t of created) t.dispose();
        for (const d of merged) d.dispose();
      };
      return { model, mix: null, dispose: release };
    } catch (err) {
      for (const t of created) t.dispose();
      for (const d of merged) d.dispose();
      throw err;
    }
  }

  parameterCount(): number {
    return this.experts.reduce((n, e) => n + e.parameterCount(), 0);
  }

  dispose(): void {
    for (const e of this.experts) e.dispose();
  }
}
