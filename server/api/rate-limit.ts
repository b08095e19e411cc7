/**
 * Counting only. What a refusal means is decided elsewhere: the 429 by the API's gate (gate.ts),
 * the audit row by lib/audit/rate-limited.ts.
 */
export const WINDOW_MS = 60_000;

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
    const start = now - (now % this.windowMs);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.counts.clear();
    }
    return start;
  }

  private result(count: number, start: number, now: number): WindowHit {
    return {
      allowed: count <= this.limit,
      count,
      retryAfterSeconds: Math.max(1, Math.ceil((start + this.windowMs - now) / 1000)),
      windowStart: start,
    };
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
