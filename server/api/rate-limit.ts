/**
 * Counting only. What a refusal means is decided elsewhere: the 429 by the API's gate (gate.ts),
 * the audit row by lib/audit/rate-limited.ts.
 */
export const WINDOW_MS = 60_000;
/** How long a shared counter outlives its window (its key names the window; this is only clean-up). */
const EXPIRY_SLACK_MS = 5_000;

/** The start of the window `now` falls in: windows are aligned to the clock, the same on every instance. */
export function windowStartOf(now: number, windowMs = WINDOW_MS): number {
  return now - (now % windowMs);
}

function windowHit(limit: number, windowMs: number, count: number, start: number, now: number): WindowHit {
  return {
    allowed: count <= limit,
    count,
    retryAfterSeconds: Math.max(1, Math.ceil((start + windowMs - now) / 1000)),
    windowStart: start,
  };
}

export interface WindowHit {
  allowed: boolean;
  /** Requests counted for this id in the current window, this one included. */
  count: number;
  /** Whole seconds until the window ends (at least 1). */
  retryAfterSeconds: number;
  windowStart: number;
}

/**
 * Fixed-window counters in memory, one window per minute aligned to the clock, so every
 * instance agrees on where a window starts. Memory is bounded: the map is emptied when a window
 * ends, and at most `maxTracked` ids are counted within one window (past that, new ids are not
 * tracked: the limiter fails open rather than growing without bound).
 */
export class FixedWindowLimiter {
  private counts = new Map<string, number>();
  private windowStart = 0;

  constructor(
    readonly limit: number,
    private readonly windowMs = WINDOW_MS,
    private readonly maxTracked = 100_000,
  ) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  private roll(now: number): number {
    const start = windowStartOf(now, this.windowMs);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.counts.clear();
    }
    return start;
  }

  private result(count: number, start: number, now: number): WindowHit {
    return windowHit(this.limit, this.windowMs, count, start, now);
  }

  /** Counts one event for `id`. */
  hit(id: string, now = Date.now()): WindowHit {
    const start = this.roll(now);
    const previous = this.counts.get(id);
    if (previous === undefined && this.counts.size >= this.maxTracked) return this.result(1, start, now);
    const count = (previous ?? 0) + 1;
    this.counts.set(id, count);
    return this.result(count, start, now);
  }

  /** Whether `id` is already over the limit in this window, without counting. */
  check(id: string, now = Date.now()): WindowHit {
    const start = this.roll(now);
    return this.result(this.counts.get(id) ?? 0, start, now);
  }

  reset(): void {
    this.counts.clear();
  }
}

/** A counter every instance shares (Redis: server/api/redis.ts). */
export interface WindowCounter {
  /** Whether it is worth asking now (connected, and not resting after a failed command); else count locally. */
  readonly available: boolean;
  /** Adds one to `key` (new keys expire `ttlMs` from now) and gives the count; rejects if the store failed. */
  increment(key: string, ttlMs: number): Promise<number>;
}

let sharedCounter: WindowCounter | undefined;

/** Makes `counter` the one every SharedWindowLimiter counts in (server/main.ts, with REDIS_URL); undefined: local only. */
export function setSharedCounter(counter: WindowCounter | undefined): void {
  sharedCounter = counter;
}

/**
 * A limit counted in a shared counter when there is one and it is available, so N instances allow
 * it once, not N times; otherwise (no REDIS_URL, or Redis unreachable) in this instance's memory,
 * exactly as FixedWindowLimiter, and synchronously: no promise on the path without Redis. The
 * windows are the same clock-aligned minutes either way; a counted event is one round trip to the
 * counter (one INCR, see redis.ts). A failed round trip counts the event locally instead.
 */
export class SharedWindowLimiter {
  private readonly local: FixedWindowLimiter;

  /**
   * @param kind names the limit in the shared counter's keys (`latchkey:rl:<kind>:<windowStart>:<id>`).
   * @param counter the shared counter; by default the process's (setSharedCounter), null for none.
   */
  constructor(
    private readonly kind: string,
    readonly limit: number,
    private readonly counter?: WindowCounter | null,
    private readonly windowMs = WINDOW_MS,
  ) {
    this.local = new FixedWindowLimiter(limit, windowMs);
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Counts one event for `id`: a WindowHit at once when counted locally, a promise of one when counted in the shared counter. */
  hit(id: string, now = Date.now()): WindowHit | Promise<WindowHit> {
    const counter = this.counter === undefined ? sharedCounter : this.counter;
    if (!counter?.available) return this.local.hit(id, now);
    const start = windowStartOf(now, this.windowMs);
    const end = start + this.windowMs;
    return counter.increment(`latchkey:rl:${this.kind}:${start}:${id}`, end - now + EXPIRY_SLACK_MS).then(
      (count) => windowHit(this.limit, this.windowMs, count, start, now),
      () => this.local.hit(id, now),
    );
  }
}
