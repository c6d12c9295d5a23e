/**
 * Parameter-space conditioning: which parameters of the GPT get m copies mixed by w, and how the
 * copies are stored.
 *
 * - full: every parameter (embeddings, LayerNorms, attention, MLP, output layer).
 * - attn: the attention projections (query, key, value, output) of every block.
 * - logit: the output layer only, so the logits are Σᵢ wᵢ·(head i's logits).
 * - lora: m low-rank deltas on the chosen linear layers, merged as θ_ref + Σᵢ wᵢ·BᵢAᵢ.
 * - none: no parameter is conditioned; w reaches the policy only through the prompt.
 */
import { parameterShapes, type GptConfig } from "../model/config.js";
import type { DeltaSpec } from "../model/deltas.js";

/** Conditioning variants clp implements. */
export const CONDITIONING_VARIANTS = ["full", "attn", "logit", "lora", "none"] as const;
export type ConditioningVariant = (typeof CONDITIONING_VARIANTS)[number];

/** Linear layers of a block that LoRA-CLP can target, by their short names. */
export const LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "fc_in", "fc_out", "lm_head"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** Settings of the low-rank variant. */
export interface LoraSettings {
  rank: number;
  /** The deltas are scaled by alpha / rank, as in LoRA. */
  alpha: number;
  targets: readonly LoraTarget[];
}

function isAttentionProjection(name: string): boolean {
  return /^h\.\d+\.attn\.(q|k|v|o)_proj\.(weight|bias)$/.test(name);
}

function loraTargetOf(name: string): string | null {
  if (name === "lm_head.weight") return "lm_head";
  const match = /^h\.\d+\.(?:attn|mlp)\.(\w+)\.weight$/.exec(name);
  return match ? match[1]! : null;
}

/** Returns the conditioned parameters of a variant and how each stores its deltas. */
export function conditionedParameters(config: GptConfig, variant: ConditioningVariant, lora?: LoraSettings): Map<string, DeltaSpec> {
  const names = [...parameterShapes(config).keys()];
  const dense = (chosen: string[]) => new Map<string, DeltaSpec>(chosen.map((n) => [n, { kind: "dense" }]));
  switch (variant) {
    case "full":
      return dense(names);
    case "attn":
      return dense(names.filter(isAttentionProjection));
    case "logit":
      return dense(["lm_head.weight"]);
    case "none":
      return new Map();
    case "lora": {
      if (lora === undefined) throw new Error("conditionedParameters: the lora variant needs its settings");
      const targets = new Set<string>(lora.targets);
      const spec: DeltaSpec = { kind: "lowRank", rank: lora.rank, scale: lora.alpha / lora.rank };
      return new Map(names.filter((n) => targets.has(loraTargetOf(n) ?? "")).map((n) => [n, spec]));
    }
  }
}

/**
 * Returns whether training updates the shared (unconditioned) parameters too. LoRA-CLP is the
 * parameter-efficient variant, so it trains the deltas only. The others train both, as CLP does.
 */
export function trainsSharedParameters(variant: ConditioningVariant): boolean {
  return variant !== "lora";
}
