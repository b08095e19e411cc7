import { sql } from "drizzle-orm";
import postgres from "postgres";
import type { DbOrTx } from "@/db/client";
import { instanceId, keyCache } from "@/lib/runtime";
import type { KeyChange, KeyVerificationCache } from "./cache";

export type { KeyChange } from "./cache";

/** The PostgreSQL channel every instance listens on for key changes. */
export const KEY_CHANGE_CHANNEL = "latchkey_key_changes";

/** What travels in a NOTIFY: the change, plus who sent it so the sender can recognise its own. */
interface KeyChangeMessage extends KeyChange {
  origin?: string;
  seq?: number;
}

// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; a long list of ids is sent in parts.
const MAX_PAYLOAD = 7000;
const IDS_PER_MESSAGE = 150;

function split(change: KeyChange): KeyChange[] {
  const ids = change.keyIds ?? [];
  if (ids.length <= IDS_PER_MESSAGE) return [change];
  const parts: KeyChange[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_MESSAGE) {
    parts.push({ keyIds: ids.slice(i, i + IDS_PER_MESSAGE), ...(i === 0 && change.userId ? { userId: change.userId } : {}) });
  }
  return parts;
}

/**
 * Announces, inside the transaction that makes it, a change that can revoke or alter a key
 * (disable, delete, regenerate, rename, role change, removal). This instance's verification
 * cache drops the keys now and keeps them out until the commit is confirmed; PostgreSQL delivers
 * the NOTIFY to every listening instance when the transaction commits, and never when it rolls
 * back.
 */
export async function announceKeyChange(tx: DbOrTx, change: KeyChange): Promise<void> {
  const cache = keyCache();
  for (const part of split(change)) {
    const seq = cache.beginChange(part);
    const payload = JSON.stringify({ ...part, origin: instanceId(), seq } satisfies KeyChangeMessage);
    if (payload.length > MAX_PAYLOAD) throw new Error("key change notification too large");
    await tx.execute(sql`select pg_notify(${KEY_CHANGE_CHANNEL}, ${payload})`);
  }
}

function parseMessage(payload: string): KeyChangeMessage | null {
  try {
    const value = JSON.parse(payload) as unknown;
    if (!value || typeof value !== "object") return null;
    const { keyIds, userId, origin, seq } = value as Record<string, unknown>;
    return {
      keyIds: Array.isArray(keyIds) ? keyIds.filter((id): id is string => typeof id === "string") : undefined,
      userId: typeof userId === "string" ? userId : undefined,
      origin: typeof origin === "string" ? origin : undefined,
      seq: typeof seq === "number" ? seq : undefined,
    };
  } catch {
    return null;
  }
}

/** Applies a NOTIFY payload to a cache; anything unreadable clears the whole cache (fail safe). */
export function applyKeyChangeMessage(cache: KeyVerificationCache, payload: string, self = instanceId()): void {
  const message = parseMessage(payload);
  if (!message || (!message.userId && !message.keyIds?.length)) {
    cache.clear();
    return;
  }
  cache.acknowledge({ keyIds: message.keyIds, userId: message.userId }, message.origin === self ? message.seq : undefined);
}

export interface KeyChangeListener {
  /** Resolves once the first LISTEN succeeded (or `timeoutMs` passed). */
  ready(timeoutMs?: number): Promise<boolean>;
  readonly connected: boolean;
  /** How many times the LISTEN connection has come up. */
  readonly connections: number;
  stop(): Promise<void>;
}

export interface ListenerOptions {
  cache?: KeyVerificationCache;
  /** Health check period of the LISTEN connection; a silent network failure is noticed within it. */
  heartbeatMs?: number;
  /** Wait before reconnecting after a failure. */
  retryMs?: number;
  /** This instance's id as it appears in NOTIFY payloads (tests run two "instances" in one process). */
  origin?: string;
  log?: (message: string) => void;
}

/**
 * Keeps one dedicated connection LISTENing on the key-change channel and feeds what arrives to
 * the verification cache. The cache serves only while this connection is up: it is cleared and
 * switched off when the connection drops (a PostgreSQL restart, a network failure), and cleared
 * and switched on again once LISTEN succeeds on a new connection. Retries forever until stopped.
 */
export function startKeyChangeListener(url: string, options: ListenerOptions = {}): KeyChangeListener {
  const cache = options.cache ?? keyCache();
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const retryMs = options.retryMs ?? 500;
  const origin = options.origin ?? instanceId();
  const log = options.log ?? ((message: string) => console.warn(`[latchkey] ${message}`));
  cache.configure("listening");

  let stopped = false;
  let connected = false;
  let connections = 0;
  let current: postgres.Sql | null = null;
  let wake: (() => void) | null = null;
  let readyResolve: (ok: boolean) => void = () => {};
  const readyPromise = new Promise<boolean>((resolve) => (readyResolve = resolve));

  const setConnected = (up: boolean) => {
    if (connected === up) return;
    connected = up;
    cache.setConnected(up);
  };

  async function session(): Promise<void> {
    let closed!: () => void;
    const closedPromise = new Promise<void>((resolve) => (closed = resolve));
    const sql = postgres(url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      connect_timeout: 5,
      keep_alive: 5,
      onnotice: () => {},
      connection: { application_name: "latchkey-key-listener" },
      onclose: () => closed(),
      // postgres.js calls this for every NotificationResponse on the connection.
      ...({
        onnotify: (channel: string, payload: string) => channel === KEY_CHANGE_CHANNEL && applyKeyChangeMessage(cache, payload, origin),
      } as object),
    });
    current = sql;
    try {
      await sql.unsafe(`listen ${KEY_CHANGE_CHANNEL}`);
      connections++;
      setConnected(true);
      readyResolve(true);
      while (!stopped) {
        const tick = new Promise<"tick">((resolve) => {
          const timer = setTimeout(() => resolve("tick"), heartbeatMs);
          timer.unref();
          wake = () => (clearTimeout(timer), resolve("tick"));
        });
        if ((await Promise.race([tick, closedPromise.then(() => "closed" as const)])) === "closed") break;
        if (stopped) break;
        const beat = await Promise.race([
          sql`select 1`.then(
            () => "ok" as const,
            () => "failed" as const,
          ),
          new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), Math.max(1_000, heartbeatMs)).unref()),
        ]);
        if (beat !== "ok") break;
      }
    } finally {
      setConnected(false);
      current = null;
      await sql.end({ timeout: 0 }).catch(() => {});
    }
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await session();
        if (!stopped) log("key-change listener lost its connection; reconnecting (the key cache is off meanwhile)");
      } catch (error) {
        if (!stopped) log(`key-change listener could not connect (${(error as Error).message}); retrying`);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        timer.unref();
        wake = () => (clearTimeout(timer), resolve());
      });
    }
  })();

  return {
    ready(timeoutMs = 10_000) {
      return Promise.race([readyPromise, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())]);
    },
    get connected() {
      return connected;
    },
    get connections() {
      return connections;
    },
    async stop() {
      stopped = true;
      wake?.();
      await current?.end({ timeout: 0 }).catch(() => {});
      await loop;
      cache.configure("off");
    },
  };
}
