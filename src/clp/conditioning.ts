/**
 * Parameter-space conditioning: which parameters of the GPT get m copies mixed by w.
 * attn-CLP conditions the attention projections (query, key, value, output) of every block;
 * the rest of the model is shared by all weights.
 */
import { parameterShapes, type GptConfig } from "../model/config.js";

/** Conditioning variants clp implements. */
export const CONDITIONING_VARIANTS = ["attn"] as const;
export type ConditioningVariant = (typeof CONDITIONING_VARIANTS)[number];

/** Names of the parameters a variant conditions. */
export function conditionedParameters(config: GptConfig, variant: ConditioningVariant): string[] {
  const names = [...parameterShapes(config).keys()];
  switch (variant) {
    case "attn":
      return names.filter((n) => /^h\.\d+\.attn\.(q|k|v|o)_proj\.(weight|bias)$/.test(n));
  }
}
