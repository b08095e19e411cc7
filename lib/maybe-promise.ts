/**
 * A value now, or a promise of it. The API's hot path (lib/keys/service.ts inspectApiKey, the
 * gate in server/api) answers from memory whenever it can: a verification cache hit with nothing
 * to write and limits counted in memory needs no promise, no microtask and no timer at all. Only
 * what must wait (the database, Redis) returns a promise.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next(value)`, now if `value` is here, once it resolves otherwise. */
export function whenReady<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
