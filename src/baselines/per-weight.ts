/**
 * One model per weight: a separate policy trained at each grid weight w, the costly upper
 * reference for what a single steerable policy can reach. It decodes only at the weights it has.
 */
import type { ClpPolicy } from "../clp/policy.js";
import type { Decoder, Steering, SteerablePolicy } from "../clp/steerable.js";
import { validateWeights, WeightError } from "../clp/weights.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { checkSingleWeightPolicies, checkTrainedKl } from "./experts.js";

/** Largest difference per entry at which a requested w counts as a trained one. */
const MATCH_TOLERANCE = 1e-6;

/** A set of single-weight policies, looked up by their weight vector. */
export class PerWeightPolicy implements SteerablePolicy {
  readonly kind = "per-weight" as const;
  readonly objectives: readonly string[];
  readonly tokenizer: Tokenizer;

  constructor(readonly policies: readonly ClpPolicy[]) {
    checkSingleWeightPolicies(policies, "one model per weight");
    this.objectives = policies[0]!.objectives;
    this.tokenizer = policies[0]!.tokenizer;
  }

  /** Returns the policy trained at w, or throws listing the trained weights when there is none. */
  policyAt(weights: readonly number[]): ClpPolicy {
    validateWeights(weights, this.objectives);
    const found = this.policies.find((p) => p.metadata.fixedWeights!.every((x, j) => Math.abs(x - weights[j]!) <= MATCH_TOLERANCE));
    if (found === undefined) {
      const trained = this.policies.map((p) => `[${p.metadata.fixedWeights!.map((x) => +x.toFixed(4)).join(",")}]`).join(" ");
      throw new WeightError(`no model was trained at w = [${weights}]; this per-weight run has ${trained}`);
    }
    return found;
  }

  /** Returns the trained weight vectors. */
  weights(): number[][] {
    return this.policies.map((p) => [...p.metadata.fixedWeights!]);
  }

  validateSteering(steering: Steering): void {
    this.policyAt(steering.weights);
    checkTrainedKl(this.policies, steering, "this per-weight run");
  }

  prompt(description: string, steering: Steering): number[] {
    const policy = this.policyAt(steering.weights);
    return policy.prompt(description, { weights: policy.metadata.fixedWeights! });
  }

  decoder(steering: Steering): Decoder {
    const policy = this.policyAt(steering.weights);
    return policy.decoder({ weights: policy.metadata.fixedWeights! });
  }

  parameterCount(): number {
    return this.policies.reduce((n, p) => n + p.parameterCount(), 0);
  }

  dispose(): void {
    for (const p of this.policies) p.dispose();
  }
}
