import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * `bucket.timeoutDisabled(fn)` must disable the timeout for the calls made inside `fn` only — not
 * for other callers sharing the bucket at the same moment (the seed flips a shared attribute, which
 * races). The scope therefore lives in async context: each async call chain started inside `fn`
 * sees the set of buckets whose timeout it disabled; everything else sees nothing.
 */
const scope = new AsyncLocalStorage<ReadonlySet<object>>();

export function runWithTimeoutDisabled<T>(owner: object, fn: () => T): T {
  const outer = scope.getStore();
  const inner = new Set(outer);
  inner.add(owner);
  return scope.run(inner, fn);
}

export function isTimeoutDisabledInScope(owner: object): boolean {
  return scope.getStore()?.has(owner) ?? false;
}
