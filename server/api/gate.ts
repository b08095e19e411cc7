import { auditKeyRateLimited } from "@/lib/audit/rate-limited";
import type { Actor } from "@/lib/auth/actor";
import type { KeyVerificationCache } from "@/lib/keys/cache";
import {
  inspectApiKey,
  inspectKeyDigest,
  presentedKeyDigest,
  type AuthenticatedKey,
  type KeyInspection,
  type KeyRefusal,
} from "@/lib/keys/service";
import { logError } from "@/lib/log";
import { whenReady, type MaybePromise } from "@/lib/maybe-promise";
import { apiSettings } from "@/lib/config/env";
import { keyFromAuthorization, refuseKeyInUrl } from "./credentials";
import { ApiError, EXPIRED_KEY, NO_VALID_KEY } from "./errors";
import { SharedWindowLimiter, type WindowCounter, type WindowHit } from "./rate-limit";

export interface GateOptions {
  /** Requests per key per minute (0: no limit). Default: LATCHKEY_API_RATE_LIMIT, else 600. */
  keyRateLimit?: number;
  /** Failed authentications per client IP per minute before 429 (0: no limit). Default: 20. */
  authFailureLimit?: number;
  /** The verification cache (tests give each "instance" its own); by default the process's. */
  cache?: KeyVerificationCache;
  /** Where the limits are counted across instances (Redis); by default the process's (setSharedCounter), null for none. */
  counter?: WindowCounter | null;
}

/**
 * RFC 8594's `Sunset` header (an HTTP-date) for a request made with a regenerated key's previous
 * secret, which works until the end of its grace period; nothing for the current secret.
 */
export function sunsetHeaders(found: Pick<AuthenticatedKey, "sunset">): Record<string, string> {
  return found.sunset ? { Sunset: found.sunset.toUTCString() } : {};
}

/** What POST /verify says about a key: valid, or why not ("rate_limited": a real key over its per-minute limit). */
export type KeyCheck = { valid: true; code: "valid"; found: AuthenticatedKey } | { valid: false; code: KeyRefusal | "rate_limited" };

/** The actor a verified key acts as: its holder, through this key. */
function actorOf(found: AuthenticatedKey, ip: string | null): Actor {
  return {
    userId: found.user.id,
    email: found.user.email,
    name: found.user.name,
    role: found.user.role,
    ip,
    apiKey: { id: found.key.id, name: found.key.name, accessLevel: found.key.accessLevel },
  };
}

/** A request the gate let in: the key it presented, and the actor it acts as (made when first asked for). */
export class Admitted {
  private actorValue: Actor | undefined = undefined;

  constructor(
    readonly found: AuthenticatedKey,
    readonly ip: string | null,
  ) {}

  get actor(): Actor {
    return (this.actorValue ??= actorOf(this.found, this.ip));
  }
}

/**
 * The API's front door, shared by every route: the key (header only, never the URL), its
 * verification, the failed-authentication limit per address (which turns a failure's 401 into a
 * 429, never a valid key's answer), and the per-key rate limit. Throws an ApiError (400, 401 or
 * 429) for anything it refuses.
 *
 * An expired key is refused with its own message and is not counted as a failed authentication:
 * it is a real key its holder forgot to renew, not a guess, and counting it would soon turn its
 * clear "This API key has expired" into a 429 for everyone at that address. It costs no more than
 * a valid key (the verification cache holds it), so it needs no limit of its own.
 */
export class ApiGate {
  private readonly keyLimiter: SharedWindowLimiter;
  private readonly authFailures: SharedWindowLimiter;
  private readonly cacheOption: { cache?: KeyVerificationCache };

  constructor(options: GateOptions = {}) {
    const settings = apiSettings();
    this.keyLimiter = new SharedWindowLimiter("key", options.keyRateLimit ?? settings.keyRateLimit, options.counter);
    this.authFailures = new SharedWindowLimiter("auth", options.authFailureLimit ?? settings.authFailureLimit, options.counter);
    this.cacheOption = options.cache ? { cache: options.cache } : {};
  }

  /**
   * Admits a request, or throws the ApiError that refuses it. Synchronous when it can be: a key
   * the verification cache holds, with nothing to write and limits counted in memory, is admitted
   * without a promise (lib/maybe-promise.ts). Otherwise it returns a promise, which rejects with
   * the refusal. A caller awaits it either way, or handles both.
   */
  admit(authorization: string | null | undefined, url: string, ip: string | null): MaybePromise<Admitted> {
    const now = Date.now();
    refuseKeyInUrl(url);
    const presented = keyFromAuthorization(authorization);
    // No credentials at all: the challenge a client asks for before it sends its key (curl
    // --anyauth, wget, Python's HTTPBasicAuthHandler). It guesses nothing and costs no lookup, so
    // it is never counted as a failed authentication, and always gets the 401 with its challenge.
    if (presented === null) throw new ApiError(401, NO_VALID_KEY);
    // Verified even when the address is over the failure limit: the limit slows failures only, so
    // a valid key is always served. A malformed key is refused without a database lookup.
    const digest = presentedKeyDigest(presented);
    if (digest === null) return this.refuse(ip, now, new ApiError(401, NO_VALID_KEY));
    return whenReady(inspectKeyDigest(digest, ip, this.cacheOption), (inspected) => this.admitInspected(inspected, ip, now));
  }

  /**
   * POST /verify: checks a key another service was handed, for a caller the gate has admitted.
   * The same verification as the gate's own (cache, expiry, revocation), and a valid key counts
   * as used: its last use is recorded and its rate limit counted (over it, "rate_limited").
   * Never throws for the key presented, whatever it is, and never counts it as a failed
   * authentication of the caller. Synchronous when it can be, as admit.
   */
  verify(raw: unknown, ip: string | null): MaybePromise<KeyCheck> {
    if (typeof raw !== "string") return { valid: false, code: "malformed" };
    return whenReady(inspectApiKey(raw, ip, this.cacheOption), (inspected) => this.checkInspected(inspected, ip));
  }

  private admitInspected(inspection: KeyInspection, ip: string | null, now: number): MaybePromise<Admitted> {
    if (!inspection.ok) {
      if (inspection.code === "expired") throw new ApiError(401, EXPIRED_KEY);
      return this.refuse(ip, now, new ApiError(401, NO_VALID_KEY));
    }
    const { found } = inspection;
    return whenReady(this.countUse(found, ip, now), (hit) => this.admitCounted(hit, found, ip));
  }

  private admitCounted(hit: WindowHit | null, found: AuthenticatedKey, ip: string | null): Admitted {
    if (hit && !hit.allowed) throw this.rateLimited(hit.retryAfterSeconds, found);
    return new Admitted(found, ip);
  }

  /**
   * The 429 for a key over its limit. A key past its limit is refused on every request until the
   * minute ends, often many times a second: the refusal is made once per Retry-After value (1-60)
   * and thrown again, its JSON with it, so a refusal costs no more than an answer. A previous
   * secret's refusal carries its own Sunset, so it is made each time.
   */
  private rateLimited(retryAfterSeconds: number, found: AuthenticatedKey): ApiError {
    const make = () =>
      new ApiError(429, `Rate limit exceeded: ${this.keyLimiter.limit} requests per minute per API key.`, null, {
        "Retry-After": String(retryAfterSeconds),
        ...sunsetHeaders(found),
      });
    if (found.sunset) return make();
    return (this.rateLimitedBySeconds[retryAfterSeconds] ??= make());
  }

  private readonly rateLimitedBySeconds: ApiError[] = [];

  private checkInspected(inspection: KeyInspection, ip: string | null): MaybePromise<KeyCheck> {
    if (!inspection.ok) return { valid: false, code: inspection.code };
    const { found } = inspection;
    return whenReady(this.countUse(found, ip, Date.now()), (hit) => checkCounted(hit, found));
  }

  /**
   * Counts one use of a key against its per-minute limit (null without one); the first refusal of
   * a window is audited. Synchronous while the limit is counted in memory and allows the request.
   */
  private countUse(found: AuthenticatedKey, ip: string | null, now: number): MaybePromise<WindowHit | null> {
    if (!this.keyLimiter.enabled) return null;
    // A promise only when counted in Redis: without it the count is synchronous (the hot path).
    return whenReady(this.keyLimiter.hit(found.key.id, now), (hit) => this.auditFirstRefusal(hit, found, ip));
  }

  /**
   * The first refused request of the window (across instances with Redis, on this instance
   * without) writes the audit row; any other hit passes through as it is.
   */
  private auditFirstRefusal(hit: WindowHit, found: AuthenticatedKey, ip: string | null): MaybePromise<WindowHit> {
    const limit = this.keyLimiter.limit;
    if (hit.allowed || hit.count !== limit + 1) return hit;
    return auditKeyRateLimited(actorOf(found, ip), { start: hit.windowStart, limit }).then(
      () => hit,
      (error: unknown) => {
        logError("could not audit a rate-limited key", error);
        return hit;
      },
    );
  }

  /** A failed authentication's refusal, once counted (failed): always a rejected promise. */
  private async refuse(ip: string | null, now: number, refusal: ApiError): Promise<never> {
    throw await this.failed(ip, now, refusal);
  }

  /** Counts a failed authentication (only then: a valid key never touches this limit); past the limit for its address, 429. */
  private async failed(ip: string | null, now: number, refusal: ApiError): Promise<ApiError> {
    const failures = this.authFailures;
    if (!ip || !failures.enabled) return refusal;
    const hit = await failures.hit(ip, now);
    if (hit.allowed) return refusal;
    return new ApiError(429, "Too many failed authentications from your address. Try again later.", null, {
      "Retry-After": String(hit.retryAfterSeconds),
    });
  }
}

function checkCounted(hit: WindowHit | null, found: AuthenticatedKey): KeyCheck {
  if (hit && !hit.allowed) return { valid: false, code: "rate_limited" };
  return { valid: true, code: "valid", found };
}
