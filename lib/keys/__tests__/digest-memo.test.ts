import { afterEach, describe, expect, it, vi } from "vitest";
import { createKeyring } from "@/lib/config/keyring";
import * as crypto from "../crypto";
import { DigestMemo } from "../digest-memo";
import * as format from "../format";
import { generateApiKey } from "../format";

const ring = createKeyring("a-test-secret-that-is-long-enough-0123456789");
const otherRing = createKeyring("another-test-secret-that-is-long-enough-987654");

/** Counts the HMACs computed from here on (digestApiKey's calls). */
function counting() {
  const spy = vi.spyOn(crypto, "digestApiKey");
  return { computed: () => spy.mock.calls.length };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("DigestMemo", () => {
  it("gives exactly digestApiKey's answer, computing it once per key", () => {
    const memo = new DigestMemo();
    const { computed } = counting();
    const [a, b] = [generateApiKey(), generateApiKey()];
    expect(memo.digest(a, ring)).toBe(crypto.digestApiKey(a, ring));
    expect(memo.digest(b, ring)).toBe(crypto.digestApiKey(b, ring));
    const before = computed();
    for (let i = 0; i < 5; i++) {
      expect(memo.digest(a, ring)).toBe(crypto.digestApiKey(a, ring));
      expect(memo.digest(b, ring)).toBe(crypto.digestApiKey(b, ring));
    }
    // Only the comparisons' own digestApiKey calls: the memo computed nothing more.
    expect(computed() - before).toBe(10);
  });

  it("starts over under another server secret: never a digest made with the old one", () => {
    const memo = new DigestMemo();
    const key = generateApiKey();
    const old = memo.digest(key, ring);
    const now = memo.digest(key, otherRing);
    expect(now).toBe(crypto.digestApiKey(key, otherRing));
    expect(now).not.toBe(old);
    expect(memo.size).toBe(1);
  });

  it("forgets a key once its time is over, and computes it again", () => {
    const memo = new DigestMemo({ ttlMs: 1_000, maxEntries: 10 });
    const key = generateApiKey();
    memo.digest(key, ring, 0);
    const { computed } = counting();
    memo.digest(key, ring, 999);
    expect(computed()).toBe(0);
    expect(memo.digest(key, ring, 1_000)).toBe(crypto.digestApiKey(key, ring));
    expect(computed()).toBe(2); // the memo's, and the comparison's
  });

  it("keeps at most maxEntries keys, forgetting the oldest first", () => {
    const memo = new DigestMemo({ ttlMs: 60_000, maxEntries: 3 });
    const keys = Array.from({ length: 5 }, () => generateApiKey());
    for (const key of keys) memo.digest(key, ring);
    expect(memo.size).toBe(3);
    const { computed } = counting();
    memo.digest(keys[4]!, ring);
    memo.digest(keys[2]!, ring);
    expect(computed()).toBe(0);
    memo.digest(keys[0]!, ring);
    expect(computed()).toBe(1);
  });

  it("sweeps expired keys on a timer, with no further request", () => {
    vi.useFakeTimers({ now: 0 });
    const memo = new DigestMemo({ ttlMs: 5_000, maxEntries: 10 });
    memo.digest(generateApiKey(), ring);
    vi.advanceTimersByTime(2_000);
    memo.digest(generateApiKey(), ring);
    expect(memo.size).toBe(2);
    vi.advanceTimersByTime(3_000); // the first one's time is over
    expect(memo.size).toBe(1);
    vi.advanceTimersByTime(2_000); // and the second's
    expect(memo.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // nothing left to sweep: no timer either
  });

  it("refuses a key that is not shaped like one (null), without a digest and without remembering it", () => {
    const memo = new DigestMemo();
    const key = generateApiKey();
    const tampered = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A"); // the checksum fails
    const { computed } = counting();
    for (const raw of [tampered, "", "lk_", "not a key", key.toUpperCase()]) expect(memo.digest(raw, ring)).toBeNull();
    expect(computed()).toBe(0);
    expect(memo.size).toBe(0);
  });

  it("checks a key's shape when it computes its digest, not when it remembers it", () => {
    const memo = new DigestMemo();
    const key = generateApiKey();
    const checked = vi.spyOn(format, "isWellFormedApiKey");
    memo.digest(key, ring);
    expect(checked).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect(memo.digest(key, ring)).toBe(crypto.digestApiKey(key, ring));
    expect(checked).toHaveBeenCalledTimes(1);
  });

  it("remembers nothing when turned off", () => {
    const memo = new DigestMemo({ ttlMs: 0, maxEntries: 10 });
    expect(memo.digest(generateApiKey(), ring)).toMatch(/^[0-9a-f]{64}$/);
    expect(memo.size).toBe(0);
  });
});
