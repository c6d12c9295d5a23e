// Lookup of reward functions by name: the built-in rewards, rewards registered in code, and rewards
// loaded from user modules. Every entry is checked against the RewardFunction contract first.

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { brevity } from "./brevity.js";
import { coverage } from "./coverage.js";
import { faithfulness } from "./faithfulness.js";
import { form } from "./form.js";
import { rouge1, rougeL } from "./rouge.js";
import type { RewardFunction } from "./types.js";
import { validateReward } from "./validate.js";

/** The rewards every registry starts with, in listing order. */
export const BUILTIN_REWARDS: readonly RewardFunction[] = [
  coverage,
  brevity,
  faithfulness,
  form,
  rougeL,
  rouge1,
];

/** Options of `RewardRegistry.register`. */
export interface RegisterOptions {
  /** Replace an existing reward of the same name instead of throwing; false when omitted. */
  replace?: boolean;
  /**
   * Origin of the reward, such as a file path, that starts error messages; "registerReward" when
   * omitted.
   */
  origin?: string;
}

/** A set of reward functions keyed by name. Most code uses the process-wide `defaultRegistry`. */
export class RewardRegistry {
  private readonly rewards = new Map<string, RewardFunction>();

  /** Creates a registry holding `initial` (the built-in rewards by default). */
  constructor(initial: readonly RewardFunction[] = BUILTIN_REWARDS) {
    for (const reward of initial) this.register(reward, { origin: "built-in rewards" });
  }

  /**
   * Validates and adds a reward. Throws when the contract is broken or, unless `replace` is set,
   * when a reward of the same name is already registered.
   */
  register(reward: RewardFunction, options: RegisterOptions = {}): void {
    const origin = options.origin ?? "registerReward";
    const valid = validateReward(reward, origin);
    if (this.rewards.has(valid.name) && options.replace !== true) {
      throw new Error(
        `${origin}: a reward named "${valid.name}" is already registered; ` +
          `rename it or register with { replace: true }`,
      );
    }
    this.rewards.set(valid.name, valid);
  }

  /** Returns the reward registered under `name`, or throws listing the available names. */
  get(name: string): RewardFunction {
    const reward = this.rewards.get(name);
    if (reward === undefined) {
      throw new Error(`unknown reward "${name}"; available rewards: ${this.names().join(", ")}`);
    }
    return reward;
  }

  /** Reports whether a reward named `name` is registered. */
  has(name: string): boolean {
    return this.rewards.has(name);
  }

  /** Returns the registered rewards in registration order. */
  list(): RewardFunction[] {
    return [...this.rewards.values()];
  }

  /** Returns the registered names in registration order. */
  names(): string[] {
    return [...this.rewards.keys()];
  }

  /**
   * Imports the module at `path` (relative paths resolve against the working directory), whose
   * default export must be a RewardFunction or an array of them, validates each and registers it.
   * Nothing is registered unless every export is valid and no name is taken already. Returns the
   * loaded rewards in export order.
   */
  async loadModule(path: string, options: { replace?: boolean } = {}): Promise<RewardFunction[]> {
    const absolute = resolve(path);
    let loaded: Record<string, unknown>;
    try {
      loaded = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`failed to import reward module ${absolute}: ${reason}`, { cause: error });
    }
    if (!("default" in loaded) || loaded.default === undefined) {
      throw new TypeError(
        `${absolute}: missing default export; export default a RewardFunction or an array of them`,
      );
    }
    const exported = Array.isArray(loaded.default) ? loaded.default : [loaded.default];
    if (exported.length === 0) {
      throw new TypeError(
        `${absolute}: default export is an empty array; export at least one reward`,
      );
    }
    const rewards = exported.map((value: unknown, index) =>
      validateReward(value, exported.length > 1 ? `${absolute} [${index}]` : absolute),
    );
    const seen = new Set<string>();
    for (const reward of rewards) {
      if (seen.has(reward.name)) {
        throw new Error(`${absolute}: exports two rewards named "${reward.name}"`);
      }
      seen.add(reward.name);
      if (this.rewards.has(reward.name) && options.replace !== true) {
        throw new Error(
          `${absolute}: a reward named "${reward.name}" is already registered; rename it`,
        );
      }
    }
    for (const reward of rewards) {
      this.register(reward, { replace: options.replace === true, origin: absolute });
    }
    return rewards;
  }
}

/** Process-wide registry behind getReward, listRewards, registerReward and loadRewardModule. */
export const defaultRegistry = new RewardRegistry();

/** Returns the reward named `name` from the default registry, or throws listing the known names. */
export function getReward(name: string): RewardFunction {
  return defaultRegistry.get(name);
}

/** Returns every reward in the default registry, built-ins first. */
export function listRewards(): RewardFunction[] {
  return defaultRegistry.list();
}

/** Validates and adds a reward to the default registry (see `RewardRegistry.register`). */
export function registerReward(reward: RewardFunction, options: RegisterOptions = {}): void {
  defaultRegistry.register(reward, options);
}

/** Loads a user module's rewards into the default registry (see `RewardRegistry.loadModule`). */
export function loadRewardModule(
  path: string,
  options: { replace?: boolean } = {},
): Promise<RewardFunction[]> {
  return defaultRegistry.loadModule(path, options);
}
