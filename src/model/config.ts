/** The GPT configuration, stored as config.json beside the weights. */

/** Architecture of a decoder-only GPT with pre-LayerNorm blocks and an untied output layer. */
export interface GptConfig {
  vocabSize: number;
  /** Maximum sequence length (learned position embeddings). */
  contextLength: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Hidden width of each MLP; 4 × dModel by convention. */
  dMlp: number;
  /** Dropout probability in training; rollouts and scoring always run without dropout. */
  dropout: number;
  layerNormEps: number;
}

/** Thrown for an invalid or mismatched model configuration; names the field and the file. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const INTEGER_FIELDS = ["vocabSize", "contextLength", "dModel", "nLayers", "nHeads", "dMlp"] as const;

/** Checks every field of a GPT config parsed from `source` and returns it typed. */
export function validateGptConfig(value: unknown, source: string): GptConfig {
  if (value === null || typeof value !== "object") {
    throw new ConfigError(`${source}: the model config must be a JSON object`);
  }
  const c = value as Record<string, unknown>;
  for (const field of INTEGER_FIELDS) {
    const v = c[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new ConfigError(`${source}: field "${field}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
  }
  for (const field of ["dropout", "layerNormEps"] as const) {
    const v = c[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (field === "dropout" && v >= 1)) {
      throw new ConfigError(`${source}: field "${field}" must be a number in [0, 1), got ${JSON.stringify(v)}`);
    }
  }
  const config = c as unknown as GptConfig;
  if (config.dModel % config.nHeads !== 0) {
    throw new ConfigError(
      `${source}: dModel (${config.dModel}) must be divisible by nHeads (${config.nHeads})`,
    );
  }
  return {
    vocabSize: config.vocabSize,
    contextLength: config.contextLength,
    dModel: config.dModel,
    nLayers: config.nLayers,
    nHeads: config.nHeads,
    dMlp: config.dMlp,
    dropout: config.dropout,
    layerNormEps: config.layerNormEps,
  };
}

/** Parameter names and shapes of a GPT, in a fixed order. */
export function parameterShapes(config: GptConfig): Map<string, number[]> {
  const { vocabSize: v, contextLength: t, dModel: d, dMlp: f } = config;
  const shapes = new Map<string, number[]>();
  shapes.set("wte.weight", [v, d]);
  shapes.set("wpe.weight", [t, d]);
  for (let i = 0; i < config.nLayers; i++) {
    const p = `h.${i}`;
    shapes.set(`${p}.ln_1.weight`, [d]);
    shapes.set(`${p}.ln_1.bias`, [d]);
    for (const proj of ["q_proj", "k_proj", "v_proj", "o_proj"]) {
      shapes.set(`${p}.attn.${proj}.weight`, [d, d]);
      shapes.set(`${p}.attn.${proj}.bias`, [d]);
    }
    shapes.set(`${p}.ln_2.weight`, [d]);
    shapes.set(`${p}.ln_2.bias`, [d]);
    shapes.set(`${p}.mlp.fc_in.weight`, [f, d]);
    shapes.set(`${p}.mlp.fc_in.bias`, [f]);
    shapes.set(`${p}.mlp.fc_out.weight`, [d, f]);
    shapes.set(`${p}.mlp.fc_out.bias`, [d]);
  }
  shapes.set("ln_f.weight", [d]);
  shapes.set("ln_f.bias", [d]);
  shapes.set("lm_head.weight", [v, d]);
  return shapes;
}
