/**
 * A small seedable random-number generator (xoshiro128**, Blackman & Vigna) whose whole state is
 * four 32-bit words, so sampling streams are reproducible per sequence and can be checkpointed.
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes several integers into one 32-bit seed (e.g. a run seed, a step and a row index). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const next = splitmix32((h ^ (part >>> 0)) >>> 0);
    h = next() ^ Math.imul(Math.floor(part / 4294967296) >>> 0, 0x9e3779b1);
    h >>>= 0;
  }
  return h >>> 0;
}

/** xoshiro128** generator. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number) {
    const init = splitmix32(seed);
    this.s = new Uint32Array([init(), init(), init(), init()]);
    if (this.s.every((x) => x === 0)) this.s[0] = 1;
  }

  /** Returns the next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Returns a uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Returns a uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Draws a standard normal sample (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Draws a Gamma(shape, 1) sample (Marsaglia & Tsang), for Dirichlet draws. */
  gamma(shape: number): number {
    return this.gammaDraw(shape).value;
  }

  /**
   * Draws a Gamma(shape, 1) sample as its value and its logarithm. For shape < 1 the value is
   * Gamma(shape + 1)·U^(1/shape), which underflows to 0 for small shapes (in about half of the
   * draws at shape 0.001), while the logarithm stays finite.
   */
  private gammaDraw(shape: number): { value: number; log: number } {
    if (shape < 1) {
      const inner = this.gammaDraw(shape + 1);
      const u = this.next() || Number.MIN_VALUE;
      return { value: inner.value * Math.pow(u, 1 / shape), log: inner.log + Math.log(u) / shape };
    }
    const value = this.gammaAtLeastOne(shape);
    return { value, log: Math.log(value) };
  }

  private gammaAtLeastOne(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /**
   * Draws a sample from Dirichlet(alpha, …, alpha) over `m` components. Small alphas give
   * components that are exactly 0. When every Gamma draw underflows, the weights are computed
   * from the draws' logarithms, so the result is still on the simplex.
   */
  dirichlet(m: number, alpha = 1): number[] {
    const draws = Array.from({ length: m }, () => this.gammaDraw(alpha));
    const total = draws.reduce((a, d) => a + d.value, 0);
    if (total >= MIN_NORMAL && Number.isFinite(total)) return draws.map((d) => d.value / total);
    // Normalises in log space: wᵢ = exp(log gᵢ − log Σⱼ gⱼ).
    const max = Math.max(...draws.map((d) => d.log));
    const shifted = draws.map((d) => Math.exp(d.log - max));
    const sum = shifted.reduce((a, b) => a + b, 0);
    return shifted.map((x) => x / sum);
  }

  /** Shuffles `items` in place (Fisher-Yates). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** Returns the generator's state, for checkpoints. */
  getState(): number[] {
    return Array.from(this.s);
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)) {
      throw new RangeError(`Rng.setState: expected four 32-bit unsigned integers, got ${JSON.stringify(state)}`);
    }
    this.s = Uint32Array.from(state);
  }
}

/** Smallest positive normal double; below it a sum has lost relative precision. */
const MIN_NORMAL = 2.2250738585072014e-308;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
