import { afterEach, describe, expect, it } from "vitest";
import { FixedWindowLimiter, SharedWindowLimiter, setSharedCounter, windowStartOf, type WindowCounter } from "../rate-limit";

/** A shared counter in a Map, as Redis would count, that can be taken away or made to fail. */
class MapCounter implements WindowCounter {
  readonly counts = new Map<string, number>();
  readonly calls: Array<{ key: string; ttlMs: number }> = [];
  available = true;
  failing = false;

  async increment(key: string, ttlMs: number): Promise<number> {
    this.calls.push({ key, ttlMs });
    if (this.failing) throw new Error("connection lost");
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return count;
  }
}

const MINUTE = 60_000;
const T = 1_800_000_000_000 + 15_000; // 15 s into a minute

afterEach(() => setSharedCounter(undefined));

describe("SharedWindowLimiter", () => {
  it("without a shared counter counts synchronously, exactly as the in-memory limiter", () => {
    const shared = new SharedWindowLimiter("key", 2, null);
    const local = new FixedWindowLimiter(2);
    for (let i = 0; i < 4; i++) {
      const hit = shared.hit("k1", T + i);
      expect(hit).not.toBeInstanceOf(Promise);
      expect(hit).toEqual(local.hit("k1", T + i));
    }
    expect(new SharedWindowLimiter("key", 2, null).hit("k1", T)).toEqual({
      allowed: true,
      count: 1,
      retryAfterSeconds: 45,
      windowStart: T - 15_000,
    });
  });

  it("with one, counts there: one increment per hit, keyed by kind, clock-aligned window and id, expiring after the window", async () => {
    const counter = new MapCounter();
    const a = new SharedWindowLimiter("key", 2, counter);
    const b = new SharedWindowLimiter("key", 2, counter); // another instance
    expect(await a.hit("k1", T)).toMatchObject({ allowed: true, count: 1 });
    expect(await b.hit("k1", T + 1)).toMatchObject({ allowed: true, count: 2 });
    expect(await a.hit("k1", T + 2)).toEqual({ allowed: false, count: 3, retryAfterSeconds: 45, windowStart: windowStartOf(T) });
    expect(counter.calls.map((call) => call.key)).toEqual(Array(3).fill(`latchkey:rl:key:${windowStartOf(T)}:k1`));
    expect(counter.calls[0]!.ttlMs).toBe(45_000 + 5_000);
    // The next minute is a new key; another kind never shares a count with this one.
    expect(await a.hit("k1", T + MINUTE)).toMatchObject({ allowed: true, count: 1 });
    expect(await new SharedWindowLimiter("auth", 2, counter).hit("k1", T)).toMatchObject({ count: 1 });
  });

  it("counts locally, at once, while the counter is unavailable, and locally when an increment fails", async () => {
    const counter = new MapCounter();
    const limiter = new SharedWindowLimiter("key", 1, counter);
    counter.available = false;
    const offline = limiter.hit("k1", T);
    expect(offline).not.toBeInstanceOf(Promise);
    expect(offline).toMatchObject({ allowed: true, count: 1 });
    expect(counter.calls).toHaveLength(0);
    counter.available = true;
    counter.failing = true;
    const failed = limiter.hit("k1", T + 1);
    expect(failed).toBeInstanceOf(Promise);
    expect(await failed).toMatchObject({ allowed: false, count: 2 }); // the local count went on
    counter.failing = false;
    expect(await limiter.hit("k1", T + 2)).toMatchObject({ allowed: true, count: 1 }); // Redis' own count
  });

  it("uses the process's counter (setSharedCounter) unless given one, and none once it is unset", async () => {
    const counter = new MapCounter();
    const limiter = new SharedWindowLimiter("key", 5);
    expect(limiter.hit("k1", T)).not.toBeInstanceOf(Promise);
    setSharedCounter(counter);
    expect(await limiter.hit("k1", T)).toMatchObject({ count: 1 });
    expect(counter.calls).toHaveLength(1);
    expect(new SharedWindowLimiter("key", 5, null).hit("k1", T)).not.toBeInstanceOf(Promise);
    setSharedCounter(undefined);
    expect(limiter.hit("k1", T)).not.toBeInstanceOf(Promise);
  });

  it("is off at 0", () => {
    expect(new SharedWindowLimiter("key", 0, null).enabled).toBe(false);
    expect(new SharedWindowLimiter("key", 1, null).enabled).toBe(true);
  });
});
