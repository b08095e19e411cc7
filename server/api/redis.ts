/**
 * The API's limits counted in Redis (REDIS_URL, SPEC §14), so several instances share them. Built to
 * never stand in a request's way: commands fail at once while the connection is down (no offline
 * queue) and after a short timeout when Redis stops answering; the limiters then count locally
 * (rate-limit.ts) until Redis is back, which the client finds by itself (it keeps reconnecting).
 *
 * Why not rate-limiter-flexible's RateLimiterRedis: its windows start at each key's first request
 * (a TTL), not at the clock's minute, so its fallback (an in-memory insurance limiter) would count
 * different windows than Redis, the audit's "once per key per window" would lose its window, and
 * it sends the whole Lua script with every request (EVAL). One INCR per counted request, in a
 * script that also sets the expiry of a new window's key, is all this needs.
 */
import { createHash } from "node:crypto";
import { createClient } from "redis";
import type { WindowCounter } from "./rate-limit";

/** INCR, and the expiry when the key is new: one round trip, one atomic step. */
const INCREMENT_SCRIPT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";
const INCREMENT_SHA = createHash("sha1").update(INCREMENT_SCRIPT).digest("hex");

export interface RedisCounterOptions {
  /** Called once when counting moves to Redis (true) or away from it (false), not once per request. */
  onChange?: (up: boolean) => void;
  /** How long a command may wait for its answer before the request is counted locally (ms). */
  commandTimeoutMs?: number;
  /** How long to try connecting before counting locally (the first time, and on each reconnection). */
  connectTimeoutMs?: number;
  /** After a command failed on an open connection (a timeout), count locally this long before asking again (ms). */
  restMs?: number;
}

/** What the counter uses of node-redis's client (structurally: its generic type does not narrow well). */
interface Client {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  on(event: "ready" | "error", listener: () => void): unknown;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
}

export class RedisWindowCounter implements WindowCounter {
  private up: boolean | undefined;
  private restUntil = 0;
  private readonly commandTimeoutMs: number;
  private readonly restMs: number;

  constructor(
    private readonly client: Client,
    private readonly onChange: (up: boolean) => void = () => {},
    options: Pick<RedisCounterOptions, "commandTimeoutMs" | "restMs"> = {},
  ) {
    this.commandTimeoutMs = options.commandTimeoutMs ?? 250;
    this.restMs = options.restMs ?? 1_000;
    client.on("ready", () => {
      this.restUntil = 0;
      this.mark(true);
    });
    // Every failed (re)connection attempt emits "error": one "down" for all of them.
    client.on("error", () => this.mark(false));
  }

  get available(): boolean {
    return this.client.isReady && (this.restUntil === 0 || Date.now() >= this.restUntil);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    const ttl = String(Math.max(1, Math.ceil(ttlMs)));
    let reply: unknown;
    try {
      reply = await this.answerWithin(
        this.client.sendCommand(["EVALSHA", INCREMENT_SHA, "1", key, ttl]).catch((error: unknown) => {
          // A Redis that has not seen the script yet (new, restarted, flushed): send it once in full.
          if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
          return this.client.sendCommand(["EVAL", INCREMENT_SCRIPT, "1", key, ttl]);
        }),
      );
    } catch (error) {
      // A lost connection speaks for itself (isReady); a command that failed on an open one (a
      // timeout: Redis stalled) makes the next ones count locally for a moment instead of each waiting.
      if (this.client.isReady) this.restUntil = Date.now() + this.restMs;
      this.mark(false);
      throw error;
    }
    if (this.restUntil !== 0) this.restUntil = 0;
    this.mark(true);
    return Number(reply);
  }

  /**
   * The reply, or a rejection after commandTimeoutMs. node-redis's own command timeout stops at the
   * write: a command already sent waits for its reply for ever (a stalled server keeps the socket
   * open). The late reply, if any, is dropped.
   */
  private answerWithin<T>(reply: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.commandTimeoutMs} ms`)), this.commandTimeoutMs);
    });
    return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
  }

  private mark(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.onChange(up);
  }

  /** Closes at once: the counters are write-only, nothing waits to be saved, and a stalled Redis must not hold a shutdown. */
  async close(): Promise<void> {
    if (this.client.isOpen) this.client.destroy();
  }
}

/**
 * Connects to `url` and gives the counter once Redis answered or the connection timeout passed:
 * the server starts whether Redis is up or not (down, it counts locally and keeps trying).
 */
export async function startRedisCounter(url: string, options: RedisCounterOptions = {}): Promise<RedisWindowCounter> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 1_000;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: connectTimeoutMs,
      // Keep trying for ever, at most every two seconds: recovery needs no restart.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** Math.min(retries, 5), 2_000),
    },
  });
  const counter = new RedisWindowCounter(client, options.onChange, options);
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off("ready", done);
      client.off("error", done);
      resolve();
    };
    const timer = setTimeout(done, connectTimeoutMs + 100);
    client.once("ready", done);
    client.once("error", done);
    // Never rejects while the reconnect strategy keeps trying; the events above say how it went.
    client.connect().catch(() => {});
  });
  return counter;
}
