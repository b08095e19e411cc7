/**
 * postgres.js's connection queues, as patched (patches/postgres+3.4.9.patch, patches/README.md):
 * still a FIFO with removal, and its array no longer grows by a hole per shift while it is never
 * emptied (the busy connections' queue under steady load).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

interface Queue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}
let createQueue: <T>(initial?: T[]) => Queue<T>;

beforeAll(async () => {
  // The package exports its entry points only; the queue is imported from its file.
  const file = pathToFileURL(path.resolve(import.meta.dirname, "../../node_modules/postgres/src/queue.js")).href;
  createQueue = ((await import(file)) as { default: typeof createQueue }).default;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("postgres.js's queue (patched)", () => {
  it.each([1, 2, 3])("behaves as a FIFO with removal over 50,000 random steps (seed %i)", (seed) => {
    const next = random(seed);
    const queue = createQueue<number>();
    const model: number[] = [];
    let made = 0;
    for (let step = 0; step < 50_000; step++) {
      const roll = next();
      if (roll < 0.4 || model.length === 0) {
        const x = made++;
        expect(queue.push(x)).toBe(x);
        model.push(x);
      } else if (roll < 0.75) {
        expect(queue.shift()).toBe(model.shift());
      } else {
        // Remove one that is there, or one that is not (already gone, or never pushed).
        const x = next() < 0.8 ? model[Math.floor(next() * model.length)]! : made + 1_000;
        const at = model.indexOf(x);
        expect(queue.remove(x)).toBe(at === -1 ? null : x);
        if (at !== -1) model.splice(at, 1);
      }
      expect(queue.length).toBe(model.length);
    }
    while (model.length) expect(queue.shift()).toBe(model.shift());
    expect(queue.length).toBe(0);
  });

  it("keeps its array bounded while never emptied: connections cycling between busy and idle under load", () => {
    const connections = Array.from({ length: 10 }, (_, i) => ({ id: i }));
    const busy = createQueue(connections);
    // The array behind the queue, as remove() searches it: the longest seen.
    let longest = 0;
    const indexOf = Array.prototype.indexOf;
    vi.spyOn(Array.prototype, "indexOf").mockImplementation(function (this: unknown[], ...args: [unknown, number?]) {
      longest = Math.max(longest, this.length);
      return indexOf.apply(this, args);
    });
    for (let query = 0; query < 100_000; query++) {
      // A query goes to the longest-busy connection (shift), which stays busy (push); another
      // connection finishes and leaves the queue (remove), and takes a new query (push).
      const c = busy.shift()!;
      busy.push(c);
      const done = connections[query % connections.length]!;
      busy.remove(done);
      busy.push(done);
    }
    expect(busy.length).toBe(connections.length);
    // Holes are dropped once they are half the array (from 1,024 on): it never passes about
    // 2,048. Unpatched, it grew by one per query, to about 100,000.
    expect(longest).toBeLessThan(2_100);
  });
});
