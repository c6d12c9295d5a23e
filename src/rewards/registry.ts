// Lookup of reward functions by name: the built-in rewards, rewards registered in code, and rewards
// loaded from user modules. Every entry is checked against the RewardFunction contract first.

import { resolve } from "node:path";
import { brevity } from "./brevity.js";
import { coverage } from "./coverage.js";
import { faithfulness } from "./faithfulness.js";
import { form } from "./form.js";
import {
  importRewardModule,
  resolveRewardModulePath,
  RewardModuleError,
  type ImportRewardModuleOptions,
} from "./modules.js";
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

/** Origin recorded for the built-in rewards; it starts their error messages. */
const BUILTIN_ORIGIN = "built-in rewards";

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
  /** Origin of each registered reward (a file path, "registerReward" or BUILTIN_ORIGIN). */
  private readonly origins = new Map<string, string>();
  /** Absolute module path of each reward loaded from a module. */
  private readonly modulePaths = new Map<string, string>();

  /** Creates a registry holding `initial` (the built-in rewards by default). */
  constructor(initial: readonly RewardFunction[] = BUILTIN_REWARDS) {
    for (const reward of initial) this.register(reward, { origin: BUILTIN_ORIGIN });
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
    this.origins.set(valid.name, origin);
    this.modulePaths.delete(valid.name);
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

  /**
   * Returns where the reward named `name` can be loaded from again, for example in a worker
   * thread. The result is "built-in", the absolute path of the module it came from, or null when it
   * was registered in code and exists only in this thread. Throws for an unknown name, like `get`.
   */
  loadableFrom(name: string): "built-in" | string | null {
    const reward = this.get(name);
    const origin = this.origins.get(name);
    if (origin === BUILTIN_ORIGIN && BUILTIN_REWARDS.includes(reward)) return "built-in";
    return this.modulePaths.get(name) ?? null;
  }

  /** Returns the registered names in registration order. */
  names(): string[] {
    return [...this.rewards.keys()];
  }

  /**
   * Imports the module at `path` (relative paths resolve against the working directory), whose
   * default export must be a RewardFunction or an array of them, validates each and registers it.
   * Nothing is registered unless every export is valid and, unless `replace` is set, no name is
   * taken already. Returns the loaded rewards in export order. Throws a RewardModuleError.
   */
  async loadModule(path: string, options: { replace?: boolean } = {}): Promise<RewardFunction[]> {
    const absolute = resolve(path);
    const rewards = await importRewardModule(absolute, path);
    if (options.replace !== true) {
      for (const reward of rewards) this.checkNameFree(reward, absolute, path);
    }
    for (const reward of rewards) {
      this.register(reward, { replace: options.replace === true, origin: absolute });
      this.modulePaths.set(reward.name, absolute);
    }
    return rewards;
  }

  /**
   * Loads the reward modules named in a config, in order. Each path is resolved by
   * `resolveRewardModulePath`: relative to `baseDir` (the config file's folder), then to the
   * working directory. Every module is imported and checked before any reward is registered, so
   * after an error the registry is unchanged. A reward name may not clash with a built-in reward,
   * a reward registered in code or a reward of another module. Loading the same module again, for
   * example for a second run in one process, is allowed: a reward that is already registered as
   * the same object is kept as it is. Returns the rewards of all modules in order, without
   * duplicates. `options` bounds the time each import may take (see `importRewardModule`).
   * Throws a RewardModuleError naming the file and the fix.
   */
  async loadModules(
    paths: readonly string[],
    baseDir: string,
    options: ImportRewardModuleOptions = {},
  ): Promise<RewardFunction[]> {
    const pending = new Map<string, { reward: RewardFunction; absolute: string }>();
    for (const path of paths) {
      const absolute = resolveRewardModulePath(path, baseDir);
      for (const reward of await importRewardModule(absolute, path, options)) {
        const earlier = pending.get(reward.name);
        if (earlier !== undefined && earlier.reward !== reward) {
          throw new RewardModuleError(
            `${absolute}: reward "${reward.name}" is also exported by ${earlier.absolute}; ` +
              `rename one of them`,
            { modulePath: path, resolvedPath: absolute },
          );
        }
        if (this.rewards.get(reward.name) !== reward) this.checkNameFree(reward, absolute, path);
        pending.set(reward.name, { reward, absolute });
      }
    }
    for (const { reward, absolute } of pending.values()) {
      if (this.rewards.get(reward.name) !== reward) {
        this.register(reward, { origin: absolute });
        this.modulePaths.set(reward.name, absolute);
      }
    }
    return [...pending.values()].map(({ reward }) => reward);
  }

  /** Throws a RewardModuleError when `reward`'s name is registered already. */
  private checkNameFree(reward: RewardFunction, absolute: string, modulePath: string): void {
    const origin = this.origins.get(reward.name);
    if (origin === undefined) return;
    const problem =
      origin === BUILTIN_ORIGIN
        ? `reward "${reward.name}" has the same name as a built-in reward`
        : `a reward named "${reward.name}" is already registered (from ${origin})`;
    throw new RewardModuleError(`${absolute}: ${problem}; rename it in the module`, {
      modulePath,
      resolvedPath: absolute,
    });
  }
}

/**
 * Process-wide registry behind getReward, listRewards, registerReward, loadRewardModule and
 * loadRewardModules.
 */
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

/**
 * Loads the reward modules named in a config into the default registry, resolving relative paths
 * against `baseDir` (the config file's folder) and then the working directory (see
 * `RewardRegistry.loadModules`). Returns their rewards in order.
 */
export function loadRewardModules(
  paths: readonly string[],
  baseDir: string,
  options: ImportRewardModuleOptions = {},
): Promise<RewardFunction[]> {
  return defaultRegistry.loadModules(paths, baseDir, options);
}
