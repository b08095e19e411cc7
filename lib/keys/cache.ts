import type { Role, UserKind } from "@/db/schema";
import type { ApiKeyDto } from "./dto";

/**
 * The verification cache: positive results of authenticateApiKey, keyed by the key's HMAC
 * digest, kept for a short TTL and bounded in size. It saves the API's hot path its database
 * lookup, so it must never outlive a revocation:
 *
 * - On the instance that makes a change, announceKeyChange() invalidates the matching entries at
 *   once and marks the change *pending* until its own NOTIFY comes back after the commit. While a
 *   change is pending its keys bypass the cache and are never stored, so a lookup that read the
 *   row before the commit cannot leave a stale entry behind.
 * - Other instances invalidate when the NOTIFY arrives (see revocation.ts's listener).
 * - A generation counter, bumped by every invalidation, drops any fill that started before it:
 *   a lookup that raced with a revocation is used for its own request only, never cached.
 * - While an instance cannot hear the others (listener down), the cache is off.
 *
 * One cache per process, held by lib/runtime.ts (keyCache()): a server action's
 * announceKeyChange() must reach the cache the API reads.
 */

export interface CachedKey {
  key: ApiKeyDto;
  user: { id: string; email: string; name: string; role: Role; kind: UserKind };
  /** Set when the secret presented is the key's previous one (a regenerate's grace): its end. */
  sunset?: Date;
}

/** What changed: some keys by id, or every key of a user (role change, removal). */
export interface KeyChange {
  keyIds?: string[];
  userId?: string;
}

/**
 * "local": this process is the only one (embedded PGlite: one connection, so no read can run
 * between a change's announcement and its commit). "listening": PostgreSQL shared with other
 * instances; the cache serves only while the LISTEN connection is up. "off": never serves.
 */
export type CacheMode = "off" | "local" | "listening";

interface Entry {
  value: CachedKey;
  expiresAt: number;
}

interface Pending {
  change: KeyChange;
  deadline: number;
}

export interface CacheOptions {
  ttlMs: number;
  maxEntries: number;
}

export const DEFAULT_CACHE_OPTIONS: CacheOptions = { ttlMs: 10_000, maxEntries: 10_000 };

/** A pending change whose NOTIFY never comes back (its transaction rolled back) expires after this. */
const PENDING_TIMEOUT_MS = 60_000;

function matches(value: CachedKey, change: KeyChange): boolean {
  return value.user.id === change.userId || (change.keyIds?.includes(value.key.id) ?? false);
}

export class KeyVerificationCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<number, Pending>();
  private generationValue = 0;
  private modeValue: CacheMode = "off";
  private connected = false;
  private nextSeq = 1;
  readonly stats = { hits: 0, misses: 0, invalidations: 0, droppedFills: 0 };

  constructor(private options: CacheOptions = DEFAULT_CACHE_OPTIONS) {}

  configure(mode: CacheMode, options: Partial<CacheOptions> = {}): void {
    this.options = { ...this.options, ...options };
    this.modeValue = mode;
    this.connected = false;
    this.clear();
  }

  get mode(): CacheMode {
    return this.modeValue;
  }

  /** Whether entries are served and stored right now. */
  get active(): boolean {
    if (this.options.maxEntries <= 0 || this.options.ttlMs <= 0) return false;
    return this.modeValue === "local" || (this.modeValue === "listening" && this.connected);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Take before the database lookup; pass to set() after it. */
  get generation(): number {
    return this.generationValue;
  }

  get(digest: string, now = Date.now()): CachedKey | undefined {
    if (!this.active) return undefined;
    const entry = this.entries.get(digest);
    if (!entry) {
      this.stats.misses++;
      return undefined;
    }
    if (entry.expiresAt <= now || this.isPending(entry.value, now)) {
      this.entries.delete(digest);
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return entry.value;
  }

  /** Stores a lookup's result unless anything was invalidated since `generation` was taken. */
  set(digest: string, value: CachedKey, generation: number, now = Date.now()): boolean {
    if (!this.active || generation !== this.generationValue || this.isPending(value, now)) {
      this.stats.droppedFills++;
      return false;
    }
    if (this.entries.size >= this.options.maxEntries && !this.entries.has(digest)) {
      // Oldest first: Map iterates in insertion order.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(digest, { value, expiresAt: now + this.options.ttlMs });
    return true;
  }

  /** Drops every entry the change touches, and any fill in flight. */
  invalidate(change: KeyChange): void {
    this.generationValue++;
    this.stats.invalidations++;
    if (!change.userId && !change.keyIds?.length) return;
    for (const [digest, entry] of this.entries) {
      if (matches(entry.value, change)) this.entries.delete(digest);
    }
  }

  /**
   * A change announced inside a transaction on this instance: invalidated now, and pending until
   * its NOTIFY returns (see acknowledge), so no lookup made before the commit is cached. Returns
   * the sequence number its NOTIFY carries.
   */
  beginChange(change: KeyChange, now = Date.now()): number {
    const seq = this.nextSeq++;
    this.invalidate(change);
    // Only a listening cache hears its own NOTIFY back; a local one needs no pending state
    // (the embedded database's single connection serialises the commit before any read).
    if (this.modeValue === "listening") this.pending.set(seq, { change, deadline: now + PENDING_TIMEOUT_MS });
    return seq;
  }

  /** A NOTIFY arrived: from another instance, or this one's own after its commit. */
  acknowledge(change: KeyChange, ownSeq?: number): void {
    this.invalidate(change);
    if (ownSeq !== undefined) this.pending.delete(ownSeq);
  }

  /** The LISTEN connection came up (serve again, from empty) or went down (serve nothing). */
  setConnected(connected: boolean): void {
    this.connected = connected;
    this.clear();
  }

  clear(): void {
    this.generationValue++;
    this.entries.clear();
  }

  private isPending(value: CachedKey, now: number): boolean {
    if (this.pending.size === 0) return false;
    for (const [seq, pending] of this.pending) {
      if (pending.deadline <= now) this.pending.delete(seq);
      else if (matches(value, pending.change)) return true;
    }
    return false;
  }
}
