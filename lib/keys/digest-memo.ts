import type { Keyring } from "@/lib/config/keyring";
import { digestApiKey } from "./crypto";
import { isWellFormedApiKey } from "./format";

export interface DigestMemoOptions {
  /** How long a presented key's digest is remembered after it was computed. */
  ttlMs: number;
  /** At most this many keys; past it the oldest is forgotten first. */
  maxEntries: number;
}

export const DEFAULT_DIGEST_MEMO_OPTIONS: DigestMemoOptions = { ttlMs: 60_000, maxEntries: 10_000 };

const SWEEP_EVERY_MS = 1_000;

interface Remembered {
  digest: string;
  expiresAt: number;
}

/**
 * The lookup digests (HMAC-SHA256, digestApiKey) of keys presented to the API, remembered for a
 * minute: a client sends the same key with every request, and in a running server the HMAC costs
 * more than everything else a cached verification does (a fresh native HMAC object per call, and
 * its clean-up). The digest is a pure function of the key and the server secret, so a remembered
 * one is exactly the one computed again; whether the key *works* is still decided on every
 * request, by the verification cache or the database (revocation, expiry and limits are untouched).
 *
 * What it holds is the presented key itself, in this process's memory, as the request that
 * carried it was: only keys that pass the checksum, at most `maxEntries` of them, each forgotten
 * within a second of its `ttlMs` ending (a timer sweeps them, whether or not another request
 * comes). That adds nothing to what reading this process's memory already gives: the process
 * holds the server secret, which opens every stored key (keys can be revealed). Nothing is
 * written anywhere.
 */
export class DigestMemo {
  private readonly entries = new Map<string, Remembered>();
  private hmacKey: Buffer | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: DigestMemoOptions = DEFAULT_DIGEST_MEMO_OPTIONS) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * digestApiKey(raw, ring), from memory when it was computed within `ttlMs` under the same
   * secret; null when `raw` is not shaped like a key (its checksum fails). Only a key that passed
   * that check is remembered, so a remembered one is not checked again.
   */
  digest(raw: string, ring: Keyring, now = Date.now()): string | null {
    // Another server secret (a test's, or a restart in-process): nothing remembered applies.
    const hmacKey = ring.derive("hmac");
    if (hmacKey !== this.hmacKey) {
      this.entries.clear();
      this.hmacKey = hmacKey;
    }
    const remembered = this.entries.get(raw);
    if (remembered !== undefined) {
      if (remembered.expiresAt > now) return remembered.digest;
      this.entries.delete(raw);
    }
    if (!isWellFormedApiKey(raw)) return null;
    const digest = digestApiKey(raw, ring);
    if (this.options.maxEntries <= 0 || this.options.ttlMs <= 0) return digest;
    if (this.entries.size >= this.options.maxEntries) {
      // Oldest first: a Map iterates in insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(raw, { digest, expiresAt: now + this.options.ttlMs });
    this.sweeper ??= setTimeout(() => this.sweep(), this.options.ttlMs).unref();
    return digest;
  }

  /** Forgets every key whose time is over; runs again while any is left. */
  private sweep(now = Date.now()): void {
    this.sweeper = undefined;
    // Insertion order is expiry order (one ttl for all): stop at the first still current.
    for (const [raw, remembered] of this.entries) {
      if (remembered.expiresAt > now) {
        // At most a sweep a second, however many keys expire in between.
        this.sweeper = setTimeout(() => this.sweep(), Math.max(remembered.expiresAt - now, SWEEP_EVERY_MS)).unref();
        return;
      }
      this.entries.delete(raw);
    }
  }

  clear(): void {
    clearTimeout(this.sweeper);
    this.sweeper = undefined;
    this.entries.clear();
  }
}
