/** Keys and values of past positions, per layer, so decoding one token costs one position. */
import * as torch from "../torch/index.js";
import { keep, type Tensor } from "../torch/index.js";

/** A growing per-layer cache of attention keys and values, each [B, H, T, headDim]. */
export class KVCache {
  private keys: (Tensor | null)[];
  private values: (Tensor | null)[];
  /** Number of positions cached. */
  length = 0;

  constructor(nLayers: number) {
    this.keys = new Array<Tensor | null>(nLayers).fill(null);
    this.values = new Array<Tensor | null>(nLayers).fill(null);
  }

  /** Appends this step's keys and values for `layer` and returns the full keys and values. */
  append(layer: number, k: Tensor, v: Tensor): [Tensor, Tensor] {
    const oldK = this.keys[layer] ?? null;
    const oldV = this.values[layer] ?? null;
    const fullK = keep(oldK === null ? k.detach() : torch.cat([oldK, k.detach()], 2));
    const fullV = keep(oldV === null ? v.detach() : torch.cat([oldV, v.detach()], 2));
    oldK?.dispose();
    oldV?.dispose();
    this.keys[layer] = fullK;
    this.values[layer] = fullV;
    return [fullK, fullV];
  }

  /** Records that `steps` positions were appended to every layer. */
  commit(steps: number): void {
    this.length += steps;
  }

  /** Keeps only the rows in `index` (int64 [B']), e.g. after some sequences finished. */
  selectRows(index: Tensor): void {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i];
      const v = this.values[i];
      if (k) this.keys[i] = keep(k.indexSelect(0, index));
      if (v) this.values[i] = keep(v.indexSelect(0, index));
      k?.dispose();
      v?.dispose();
    }
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose();
    this.keys.fill(null);
    this.values.fill(null);
    this.length = 0;
  }
}
