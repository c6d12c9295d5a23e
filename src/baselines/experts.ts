/**
 * Checks shared by the baselines built from several single-weight policies (Rewarded Soups, logit
 * mixing, one model per weight): one tokenizer, one architecture, one objective list.
 */
import type { ClpPolicy } from "../clp/policy.js";
import { PolicyMismatchError } from "../clp/policy.js";
import type { Steering } from "../clp/steerable.js";
import { WeightError } from "../clp/weights.js";

/** Throws unless every policy has fixed weights and they agree on objectives and architecture. */
export function checkSingleWeightPolicies(policies: readonly ClpPolicy[], what: string): void {
  if (policies.length === 0) throw new PolicyMismatchError(`${what}: no policies given`);
  const first = policies[0]!;
  policies.forEach((p, i) => {
    if (p.metadata.fixedWeights === null) {
      throw new PolicyMismatchError(`${what}: policy ${i} is steered by w, not trained at one weight vector; train it with a baseline method`);
    }
    if (p.objectives.join(",") !== first.objectives.join(",")) {
      throw new PolicyMismatchError(`${what}: policy ${i} has objectives [${p.objectives}] but policy 0 has [${first.objectives}]`);
    }
    if (JSON.stringify(p.model.config) !== JSON.stringify(first.model.config)) {
      throw new PolicyMismatchError(`${what}: policy ${i} has a different architecture from policy 0`);
    }
    if (p.tokenizer.vocabSize !== first.tokenizer.vocabSize) {
      throw new PolicyMismatchError(`${what}: policy ${i} has ${p.tokenizer.vocabSize} tokens but policy 0 has ${first.tokenizer.vocabSize}; their vocabularies must match`);
    }
  });
}

/** Throws unless expert i was trained at the vertex eᵢ. */
export function checkExpertVertices(experts: readonly ClpPolicy[], what: string): void {
  checkSingleWeightPolicies(experts, what);
  const m = experts[0]!.objectives.length;
  if (experts.length !== m) {
    throw new PolicyMismatchError(`${what}: ${experts.length} experts for ${m} objectives (${experts[0]!.objectives}); give one expert per objective`);
  }
  experts.forEach((e, i) => {
    const w = e.metadata.fixedWeights!;
    if (!w.every((x, j) => x === (i === j ? 1 : 0))) {
      throw new PolicyMismatchError(`${what}: expert ${i} was trained at w = [${w}], not at the vertex for objective "${e.objectives[i]}"`);
    }
  });
}

/**
 * Rejects a KL coefficient other than the one the policies were trained at: these baselines
 * cannot be steered in α.
 */
export function checkTrainedKl(policies: readonly ClpPolicy[], steering: Steering, what: string): void {
  const kl = steering.kl ?? null;
  const trained = policies[0]!.metadata.klCoef;
  if (kl !== null && Math.abs(kl - trained) > 1e-12) {
    throw new WeightError(
      `${what} was trained at the single KL coefficient ${trained} and cannot be steered to kl ${kl}; realign it with DeRa (method "dera" with baseline.alignedFrom naming this run) or drop --kl`,
    );
  }
}
