// Loading reward functions from user modules: resolving the path that a config names, importing
// the file and checking every exported reward against the RewardFunction contract.

import { statSync } from "node:fs";
import { extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { RewardFunction } from "./types.js";
import { validateReward } from "./validate.js";

/** Extensions of the reward module files that Node 20 imports without a loader. */
export const REWARD_MODULE_EXTENSIONS: readonly string[] = [".js", ".mjs", ".cjs"];

/**
 * TypeScript extensions. Such a module is imported only when Node can do it itself (a loader
 * registered with `--import`, or a Node version that strips types). Otherwise the import error
 * gives the tsc command that compiles it.
 */
const TYPESCRIPT_EXTENSIONS: readonly string[] = [".ts", ".mts", ".cts"];

/** Seconds an import of a reward module may take when the caller gives no limit. */
export const DEFAULT_MODULE_LOAD_SECONDS = 60;

/** Options of `importRewardModule`. */
export interface ImportRewardModuleOptions {
  /**
   * Seconds the import may take, top-level await included, before it fails; 0 waits without a
   * limit. DEFAULT_MODULE_LOAD_SECONDS when omitted.
   */
  timeoutSeconds?: number;
  /** Hint on raising the limit, such as "raise the time-out", that ends a time-out message. */
  raiseHint?: string;
}

/** Details recorded by a `RewardModuleError`. */
export interface RewardModuleErrorDetails {
  /** The module path as the caller gave it. */
  modulePath: string;
  /** Absolute path of the module file, or undefined when no file was found. */
  resolvedPath?: string;
  /** The error that importing or validating the module raised, if any. */
  cause?: unknown;
}

/**
 * Error raised when a reward module cannot be used: the file is missing or not JavaScript, the
 * import fails, an export breaks the RewardFunction contract, or a reward name is taken. The
 * message names the file and the fix.
 */
export class RewardModuleError extends Error {
  override readonly name = "RewardModuleError";
  readonly modulePath: string;
  readonly resolvedPath: string | undefined;

  constructor(message: string, details: RewardModuleErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.modulePath = details.modulePath;
    this.resolvedPath = details.resolvedPath;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolves a reward module path to an absolute file path. An absolute path is kept. A relative
 * path is looked up under `baseDir` (for a config, the config file's folder) and then under the
 * working directory, and the first regular file found wins. Throws a RewardModuleError listing the
 * places tried when neither contains the file.
 */
export function resolveRewardModulePath(path: string, baseDir: string): string {
  if (path.trim() === "") {
    throw new RewardModuleError(
      "reward module path is empty; name a .js, .mjs or .cjs file that exports rewards",
      { modulePath: path },
    );
  }
  const candidates = isAbsolute(path) ? [path] : [resolve(baseDir, path), resolve(path)];
  const tried = [...new Set(candidates)];
  const found = tried.find(isFile);
  if (found !== undefined) return found;
  throw new RewardModuleError(
    `reward module "${path}" not found: no file at ${tried.join(" or ")}; ` +
      `fix the path (relative paths are resolved against ${resolve(baseDir)}, ` +
      `then the working directory)`,
    { modulePath: path },
  );
}

function importFailure(absolutePath: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const extension = extname(absolutePath).toLowerCase();
  if (code === "ERR_UNKNOWN_FILE_EXTENSION" && TYPESCRIPT_EXTENSIONS.includes(extension)) {
    const command = `npx tsc --module es2022 --target es2022 --outDir <folder> ${absolutePath}`;
    return (
      `Node ${process.version} cannot import TypeScript without a loader; compile the module ` +
      `first, e.g. \`${command}\`, and name the compiled .js file`
    );
  }
  if (error instanceof SyntaxError) {
    return (
      `${reason}. If the file uses import or export but is loaded as CommonJS, rename it to ` +
      `.mjs or set "type": "module" in the nearest package.json`
    );
  }
  return reason;
}

/**
 * Returns the module's default export, unwrapping CommonJS output of tsc or Babel, where the
 * default export sits in `module.exports.default` next to an `__esModule` marker.
 */
function defaultExport(namespace: Record<string, unknown>): unknown {
  const value = namespace.default;
  if (
    namespace.__esModule === true &&
    typeof value === "object" &&
    value !== null &&
    "default" in value
  ) {
    return (value as { default: unknown }).default;
  }
  return value;
}

/**
 * Imports the module, failing after `timeoutSeconds`. The pending timer also keeps Node from
 * exiting with code 13 when a top-level await never settles and nothing else is left to run.
 */
async function importWithin(
  absolutePath: string,
  details: RewardModuleErrorDetails,
  options: ImportRewardModuleOptions,
): Promise<Record<string, unknown>> {
  const imported = import(pathToFileURL(absolutePath).href).then(
    (namespace) => namespace as Record<string, unknown>,
    (error: unknown) => {
      throw new RewardModuleError(
        `failed to import reward module ${absolutePath}: ${importFailure(absolutePath, error)}`,
        { ...details, cause: error },
      );
    },
  );
  const seconds = options.timeoutSeconds ?? DEFAULT_MODULE_LOAD_SECONDS;
  if (!(Number.isFinite(seconds) && seconds >= 0)) {
    throw new RangeError(`reward module load time-out ${seconds} s is invalid; give a number of seconds ≥ 0 (0: no limit)`);
  }
  if (seconds === 0) return imported;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const hint = options.raiseHint === undefined ? "" : `; ${options.raiseHint} if it is only slow`;
      const message =
        `reward module ${absolutePath} did not finish loading within ${seconds} s ` +
        `(a top-level await that never settles?)${hint}`;
      reject(new RewardModuleError(message, details));
    }, seconds * 1000);
  });
  try {
    return await Promise.race([imported, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Imports the reward module at `absolutePath` and returns its rewards, validated, in export order.
 * The default export must be a RewardFunction or a non-empty array of them with distinct names.
 * `modulePath` is the path as the caller gave it, kept in errors. Registers nothing. Throws a
 * RewardModuleError when the extension is not supported, the import fails or does not finish
 * within `options.timeoutSeconds`, or an export is invalid.
 */
export async function importRewardModule(
  absolutePath: string,
  modulePath: string = absolutePath,
  options: ImportRewardModuleOptions = {},
): Promise<RewardFunction[]> {
  const details = { modulePath, resolvedPath: absolutePath };

  const extension = extname(absolutePath).toLowerCase();
  const supported =
    REWARD_MODULE_EXTENSIONS.includes(extension) || TYPESCRIPT_EXTENSIONS.includes(extension);
  if (!supported) {
    throw new RewardModuleError(
      `${absolutePath}: unsupported reward module extension "${extension}"; ` +
        `a reward module must be JavaScript (${REWARD_MODULE_EXTENSIONS.join(", ")})`,
      details,
    );
  }

  const namespace = await importWithin(absolutePath, details, options);
  const exported = defaultExport(namespace);
  if (exported === undefined) {
    throw new RewardModuleError(
      `${absolutePath}: missing default export; ` +
        `export default a RewardFunction or an array of them`,
      details,
    );
  }
  const values: unknown[] = Array.isArray(exported) ? exported : [exported];
  if (values.length === 0) {
    throw new RewardModuleError(
      `${absolutePath}: default export is an empty array; export at least one reward`,
      details,
    );
  }

  const rewards: RewardFunction[] = [];
  for (const [index, value] of values.entries()) {
    const origin = values.length > 1 ? `${absolutePath} [${index}]` : absolutePath;
    try {
      rewards.push(validateReward(value, origin));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RewardModuleError(reason, { ...details, cause: error });
    }
  }

  const seen = new Set<string>();
  for (const reward of rewards) {
    if (seen.has(reward.name)) {
      throw new RewardModuleError(
        `${absolutePath}: exports two rewards named "${reward.name}"; rename one`,
        details,
      );
    }
    seen.add(reward.name);
  }
  return rewards;
}
