/**
 * Logit mixing of single-objective experts: the policy for w decodes from softmax(Σᵢ wᵢ·logitsᵢ),
 * one forward per expert (with non-zero weight) per token.
 */
import { LogitMixture } from "../model/logit-mixture.js";
import type { ClpPolicy } from "../clp/policy.js";
import type { Decoder, Steering, SteerablePolicy } from "../clp/steerable.js";
import { validateWeights } from "../clp/weights.js";
import { promptIds } from "../task/summarize.js";
import type { Tokenizer } from "../tokenizer/bpe.js";
import { checkExpertVertices, checkTrainedKl } from "./experts.js";

/** Mixes the logits of m single-objective experts with the weights w. */
export class LogitMixingPolicy implements SteerablePolicy {
  readonly kind = "logit-mixing" as const;
  readonly objectives: readonly string[];
  readonly tokenizer: Tokenizer;

  constructor(readonly experts: readonly ClpPolicy[]) {
    checkExpertVertices(experts, "logit mixing");
    this.objectives = experts[0]!.objectives;
    this.tokenizer = experts[0]!.tokenizer;
  }

  validateSteering(steering: Steering): void {
    validateWeights(steering.weights, this.objectives);
    checkTrainedKl(this.experts, steering, "logit mixing");
  }

  prompt(description: string, _steering: Steering): number[] {
    return promptIds(this.tokenizer, description, this.experts[0]!.metadata.maxSourceTokens);
  }

  decoder(steering: Steering): Decoder {
    this.validateSteering(steering);
    const used = steering.weights.map((w, i) => ({ w, i })).filter(({ w }) => w > 0);
    const decoders = used.map(({ i }) => this.experts[i]!.decoder({ weights: this.experts[i]!.metadata.fixedWeights! }));
    return {
      model: new LogitMixture(decoders.map((d) => d.model)),
      mix: used.map(({ w }) => w),
      dispose: () => {
        for (const d of decoders) d.dispose();
      },
    };
  }

  parameterCount(): number {
    return this.experts.reduce((n, e) => n + e.parameterCount(), 0);
  }

  dispose(): void {
    for (const e of this.experts) e.dispose();
  }
}
