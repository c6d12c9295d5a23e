/**
 * Tensor lifetime. libtorch memory lives outside the JS heap and a synchronous training step
 * never yields to the garbage collector, so clp frees tensors explicitly: `tidy(fn)` disposes every
 * tensor created inside `fn` except those reachable from its return value or passed to `keep`.
 */

/** Marks objects the scope machinery owns (tensors). */
export const kTracked: unique symbol = Symbol("clp.tracked");

/** Something a scope can free. */
export interface Tracked {
  readonly [kTracked]: true;
  dispose(): void;
}

const scopes: Set<Tracked>[] = [];

/** Registers a newly created tensor with the innermost open scope, if any. */
export function track(t: Tracked): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from every open scope, so no scope disposes it; the caller now owns it. */
export function keep<T extends Tracked>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Tracked>, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if ((value as Partial<Tracked>)[kTracked] === true) {
    out.add(value as Tracked);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, seen);
  }
}

/**
 * Runs `fn` in a new scope and disposes the tensors it created, except the ones reachable from its
 * result (a tensor, or arrays, Maps and plain objects containing tensors), which move to the
 * enclosing scope. When `fn` throws, every tensor it created is disposed.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tracked>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError(
      "tidy() received an async function; a scope cannot span an await. Use tidy inside the async code.",
    );
  }
  const kept = new Set<Tracked>();
  collect(result, kept, new Set());
  for (const t of scope) {
    if (kept.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** A scope usable with `using`: disposes what was created while it was open. */
export class Scope implements Disposable {
  private readonly tensors = new Set<Tracked>();
  private closed = false;

  constructor() {
    scopes.push(this.tensors);
  }

  /** Closes the scope and disposes its tensors; `keep()` tensors that must outlive it first. */
  [Symbol.dispose](): void {
    if (this.closed) return;
    this.closed = true;
    const index = scopes.lastIndexOf(this.tensors);
    if (index >= 0) scopes.splice(index, 1);
    for (const t of this.tensors) t.dispose();
  }
}
