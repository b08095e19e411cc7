/**
 * The API's limits shared across instances through Redis (REDIS_URL, SPEC §14): N instances allow a
 * key's limit and an address's failed authentications once, not N times; one Redis round trip per
 * counted request; Redis unreachable (at start or mid-load) stops nothing, the limits fall back to
 * per-instance counting with one log line, and come back to Redis by themselves.
 *
 * Every test has a redis-server of its own (tests/helpers/redis.ts), so none sees another's
 * counters and stopping one touches nobody else. Several real instances need PostgreSQL (PGlite has
 * one opener); the same behaviour in-process (two gates sharing one counter) runs on both.
 */
import type { ChildProcess } from "node:child_process";
import { and, eq } from "drizzle-orm";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { auditLog } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { KeyVerificationCache } from "@/lib/keys/cache";
import { generateApiKey } from "@/lib/keys/format";
import { createApiKey } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { createApiApp, type ApiApp } from "@/server/api/app";
import { startRedisCounter, type RedisWindowCounter } from "@/server/api/redis";
import { setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";
import { freePort, throwawayRedis, type ThrowawayRedis } from "../helpers/redis";
import { spawnApiServer, stopServer, type SpawnedServer } from "../helpers/spawn-server";

const onPostgres = process.env.TEST_DB === "postgres";
const DOWN_LINE = "[latchkey] Redis unreachable";
const UP_LINE = "[latchkey] Redis reachable";

let teardown: () => Promise<void>;
let staff: Actor;
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  teardown = await setupTestDatabase();
  staff = await makeUser("staff");
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(() => teardown());

async function ownRedis(port?: number): Promise<ThrowawayRedis> {
  const redis = await throwawayRedis(port);
  cleanups.push(() => redis.stop());
  return redis;
}

async function counterOn(url: string, changes: boolean[] = []): Promise<RedisWindowCounter> {
  const counter = await startRedisCounter(url, { onChange: (up) => changes.push(up) });
  cleanups.push(() => counter.close());
  return counter;
}

async function newKey(): Promise<{ secret: string; id: string }> {
  const { secret, key } = await createApiKey(staff, {
    name: `shared-limits-${Math.random().toString(36).slice(2)}`,
    access_level: "read_only",
  });
  return { secret, id: key.id };
}

const basic = (secret: string) => `Basic ${Buffer.from(`${secret}:`).toString("base64")}`;
/** A random address from TEST-NET-3 (RFC 5737), so no two tests share a failure counter. */
const address = () => `203.0.113.${1 + Math.floor(Math.random() * 254)}`;
/** A well-formed key that does not exist (a failed authentication). */
const unknownKey = () => generateApiKey();

/**
 * Waits for the next minute when fewer than `needMs` are left in this one: the windows are the
 * clock's minutes, and a test's counts must fall in one.
 */
async function roomInWindow(needMs: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 200));
}

/** Polls until `condition` holds (a wait for something to happen, not a timing assertion). */
async function until(condition: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Calls per command so far, as Redis counts them (INFO commandstats), read over `client`'s one connection. */
async function commandStats(client: { info(section: string): Promise<unknown> }): Promise<Record<string, number>> {
  const text = String(await client.info("commandstats"));
  const stats: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[match[1]!] = Number(match[2]);
  return stats;
}

async function countersIn(url: string, pattern: string): Promise<Record<string, string | null>> {
  const client = createClient({ url });
  await client.connect();
  try {
    const keys = await client.keys(pattern);
    const values: Record<string, string | null> = {};
    for (const key of keys) values[key] = await client.get(key);
    return values;
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// In-process: the gate with a Redis counter (PGlite and PostgreSQL)
// ---------------------------------------------------------------------------------------------

function gateApp(counter: RedisWindowCounter | null, limits: { keyRateLimit: number; authFailureLimit: number }): ApiApp {
  const cache = new KeyVerificationCache();
  cache.configure("local");
  return createApiApp({ ...limits, counter, cache });
}

async function ping(app: ApiApp, secret: string | null, ip = "192.0.2.10"): Promise<Response> {
  const headers: Record<string, string> = { "x-latchkey-client-ip": ip };
  if (secret) headers.authorization = basic(secret);
  const response = await app.request("/api/v1/ping", { headers });
  await response.text();
  return response;
}

describe("in one process, counting in Redis", () => {
  it("a cached key's request costs exactly one Redis command (the counter); a valid key never touches the failure limit", async () => {
    const redis = await ownRedis();
    await redis.start();
    const app = gateApp(await counterOn(redis.url), { keyRateLimit: 100, authFailureLimit: 10 });
    const { secret } = await newKey();
    const stats = createClient({ url: redis.url });
    await stats.connect();
    cleanups.push(() => stats.close());
    await roomInWindow(10_000);
    expect((await ping(app, secret)).status).toBe(200); // fills the verification cache (and loads the script)
    const before = await commandStats(stats);
    for (let i = 0; i < 5; i++) expect((await ping(app, secret)).status).toBe(200);
    const after = await commandStats(stats);
    const delta = Object.fromEntries(
      Object.keys(after)
        .filter((name) => name !== "info" && after[name] !== (before[name] ?? 0))
        .map((name) => [name, after[name]! - (before[name] ?? 0)]),
    );
    // One EVALSHA per request from the client; the INCR inside it runs in Redis.
    expect(delta).toEqual({ evalsha: 5, incr: 5 });

    const failed = await commandStats(stats);
    expect((await ping(app, unknownKey(), "198.51.100.20")).status).toBe(401);
    const afterFailure = await commandStats(stats);
    expect(afterFailure.evalsha! - failed.evalsha!).toBe(1);
  });

  it("two gates sharing one Redis allow a key's limit once, and an address's failures once", async () => {
    const redis = await ownRedis();
    await redis.start();
    const counter = await counterOn(redis.url);
    const limits = { keyRateLimit: 4, authFailureLimit: 3 };
    const [a, b] = [gateApp(counter, limits), gateApp(counter, limits)];
    const { secret, id } = await newKey();
    await roomInWindow(15_000);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await ping(i % 2 ? b : a, secret)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    expect(Object.values(await countersIn(redis.url, `latchkey:rl:key:*:${id}`))).toEqual(["8"]);

    const ip = address();
    const failures: number[] = [];
    for (let i = 0; i < 6; i++) failures.push((await ping(i % 2 ? b : a, unknownKey(), ip)).status);
    expect(failures).toEqual([401, 401, 401, 429, 429, 429]);
    const other = await newKey();
    expect((await ping(a, other.secret, ip)).status).toBe(200);
  });

  it("POST /verify counts the verified key in the same shared counter: its limit holds across gates", async () => {
    const redis = await ownRedis();
    await redis.start();
    const counter = await counterOn(redis.url);
    const limits = { keyRateLimit: 4, authFailureLimit: 0 };
    const [a, b] = [gateApp(counter, limits), gateApp(counter, limits)];
    const [callerA, callerB, checked] = [await newKey(), await newKey(), await newKey()];
    await roomInWindow(10_000);
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [app, caller] = i % 2 ? [b, callerB] : [a, callerA];
      const response = await app.request("/api/v1/verify", {
        method: "POST",
        headers: { authorization: basic(caller.secret), "content-type": "application/json", "x-latchkey-client-ip": "192.0.2.10" },
        body: JSON.stringify({ key: checked.secret }),
      });
      expect(response.status).toBe(200); // each caller made 3 calls: under its own limit
      codes.push(((await response.json()) as { code: string }).code);
    }
    expect(codes).toEqual(["valid", "valid", "valid", "valid", "rate_limited", "rate_limited"]);
  });

  it("Redis down at start: the counter starts anyway, counts locally, and moves to Redis when it comes up", async () => {
    const port = await freePort();
    const changes: boolean[] = [];
    const counter = await counterOn(`redis://127.0.0.1:${port}`, changes);
    expect(changes).toEqual([false]);
    expect(counter.available).toBe(false);
    const app = gateApp(counter, { keyRateLimit: 3, authFailureLimit: 0 });
    const { secret } = await newKey();
    await roomInWindow(20_000);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await ping(app, secret)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);

    const redis = await ownRedis(port);
    await redis.start();
    await until(() => changes.length === 2, "the counter to reconnect");
    expect(changes).toEqual([false, true]);
    const fresh = await newKey();
    expect((await ping(app, fresh.secret)).status).toBe(200);
    expect(Object.values(await countersIn(redis.url, `latchkey:rl:key:*:${fresh.id}`))).toEqual(["1"]);
  });

  it("Redis going away mid-load: every request answered, no valid key refused, limits per gate, one change each way", async () => {
    const redis = await ownRedis();
    await redis.start();
    const changes: boolean[] = [];
    const counter = await counterOn(redis.url, changes);
    const limits = { keyRateLimit: 3, authFailureLimit: 0 };
    const [a, b] = [gateApp(counter, limits), gateApp(counter, limits)];
    await roomInWindow(25_000);

    // Load on both gates while Redis dies: only 200 and 429 (the load key's own limit), never 401 or 5xx.
    const load = await newKey();
    let stop = false;
    const seen = new Set<number>();
    const loop = async (app: ApiApp) => {
      while (!stop) {
        seen.add((await ping(app, load.secret)).status);
        // A request answered from memory (cached key, local count) is all microtasks: let timers and sockets run.
        await new Promise((r) => setImmediate(r));
      }
    };
    const loops = [loop(a), loop(b), loop(a), loop(b)];
    await new Promise((r) => setTimeout(r, 100));
    await redis.stop();
    await until(() => !counter.available, "the counter to see Redis gone");
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(loops);
    expect([...seen]).toEqual(expect.arrayContaining([200]));
    expect([...seen].filter((status) => status !== 200 && status !== 429)).toEqual([]);
    expect(changes).toEqual([true, false]);

    // Per gate now: each allows the limit.
    const local = await newKey();
    const perGate: number[] = [];
    for (const app of [a, a, a, a, b, b, b, b]) perGate.push((await ping(app, local.secret)).status);
    expect(perGate).toEqual([200, 200, 200, 429, 200, 200, 200, 429]);

    await redis.start();
    await until(() => changes.length === 3, "the counter to reconnect");
    expect(changes).toEqual([true, false, true]);
    const shared = await newKey();
    const again: number[] = [];
    for (let i = 0; i < 6; i++) again.push((await ping(i % 2 ? b : a, shared.secret)).status);
    expect(again).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it("Redis stalled (open, silent): answered within the deadline, counted locally, then in Redis again", async () => {
    const redis = await ownRedis();
    await redis.start();
    const changes: boolean[] = [];
    const counter = await counterOn(redis.url, changes);
    const app = gateApp(counter, { keyRateLimit: 3, authFailureLimit: 0 });
    const { secret, id } = await newKey();
    await roomInWindow(20_000);
    expect((await ping(app, secret)).status).toBe(200); // counted in Redis: 1
    redis.pause();
    cleanups.push(async () => redis.resume());
    // The first request waits for the command's timeout, the next ones count locally at once (the counter rests).
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await ping(app, secret)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(changes).toEqual([true, false]);
    expect(counter.available).toBe(false);
    redis.resume();
    // Requests find out: after the rest, the next one asks Redis again.
    const probe = await newKey();
    await until(async () => (await ping(app, probe.secret)).status < 500 && changes.length === 3, "the counter to answer again");
    expect(changes).toEqual([true, false, true]);
    // Redis ran the timed-out increment once it woke (its late answer was dropped): 1 + 1.
    expect(Object.values(await countersIn(redis.url, `latchkey:rl:key:*:${id}`))).toEqual(["2"]);
  });

  it("without a counter (null), two gates count separately: the same requests pass twice as often", async () => {
    const limits = { keyRateLimit: 3, authFailureLimit: 0 };
    const [a, b] = [gateApp(null, limits), gateApp(null, limits)];
    const { secret } = await newKey();
    await roomInWindow(10_000);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await ping(i % 2 ? b : a, secret)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  });
});

// ---------------------------------------------------------------------------------------------
// Real instances (server/main.ts) on one PostgreSQL
// ---------------------------------------------------------------------------------------------

const LIMIT = 5;
const FAILURES = 3;

async function instance(env: Record<string, string | undefined>): Promise<SpawnedServer & { base: string }> {
  const port = await freePort();
  const server = await spawnApiServer({
    port,
    timeoutMs: 30_000,
    env: {
      DATABASE_URL: testDatabaseUrl(),
      LATCHKEY_API_RATE_LIMIT: String(LIMIT),
      LATCHKEY_API_AUTH_FAILURE_LIMIT: String(FAILURES),
      LATCHKEY_TRUSTED_PROXIES: "loopback",
      REDIS_URL: undefined,
      ...env,
    },
  });
  cleanups.push(() => stopServer(server.child as ChildProcess));
  return { ...server, base: `http://127.0.0.1:${port}/api/v1` };
}

async function get(base: string, secret: string | null, ip: string, path = "/ping"): Promise<Response> {
  const headers: Record<string, string> = { "x-forwarded-for": ip };
  if (secret) headers.authorization = basic(secret);
  const response = await fetch(`${base}${path}`, { headers });
  await response.text();
  return response;
}

const lines = (output: string, start: string) => output.split("\n").filter((line) => line.startsWith(start)).length;

describe("several instances, one Redis", () => {
  it.skipIf(!onPostgres)(
    "two instances allow a key's limit once (429 with Retry-After, audited once) and an address's failures once",
    async () => {
      const redis = await ownRedis();
      await redis.start();
      const [a, b] = await Promise.all([instance({ REDIS_URL: redis.url }), instance({ REDIS_URL: redis.url })]);
      const { secret, id } = await newKey();
      const ip = address();
      await roomInWindow(15_000);
      const answers = [];
      for (let i = 0; i < 2 * LIMIT; i++) answers.push(await get(i % 2 ? b.base : a.base, secret, ip));
      expect(answers.map((r) => r.status)).toEqual([...Array(LIMIT).fill(200), ...Array(LIMIT).fill(429)]);
      for (const refused of answers.slice(LIMIT)) expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      const audited = await db()
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.targetId, id), eq(auditLog.action, "api_key.rate_limited")));
      expect(audited).toHaveLength(1);

      const failures = [];
      for (let i = 0; i < 2 * FAILURES; i++) failures.push(await get(i % 2 ? b.base : a.base, unknownKey(), ip));
      expect(failures.map((r) => r.status)).toEqual([...Array(FAILURES).fill(401), ...Array(FAILURES).fill(429)]);
      for (const refused of failures.slice(FAILURES)) expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      const other = await newKey();
      expect((await get(a.base, other.secret, ip)).status).toBe(200);
      expect((await get(b.base, other.secret, ip)).status).toBe(200);
      for (const server of [a, b]) {
        expect(lines(server.output(), UP_LINE)).toBe(1);
        expect(lines(server.output(), DOWN_LINE)).toBe(0);
      }
    },
    90_000,
  );

  it.skipIf(!onPostgres)(
    "without REDIS_URL the same two instances allow the limit twice (each counts its own)",
    async () => {
      const [a, b] = await Promise.all([instance({}), instance({})]);
      const { secret } = await newKey();
      const ip = address();
      await roomInWindow(15_000);
      const statuses = [];
      for (let i = 0; i < 2 * LIMIT + 2; i++) statuses.push((await get(i % 2 ? b.base : a.base, secret, ip)).status);
      expect(statuses).toEqual([...Array(2 * LIMIT).fill(200), 429, 429]);
      const failures = [];
      for (let i = 0; i < 2 * FAILURES; i++) failures.push((await get(i % 2 ? b.base : a.base, unknownKey(), ip)).status);
      expect(failures).toEqual(Array(2 * FAILURES).fill(401));
      expect(lines(a.output(), UP_LINE) + lines(a.output(), DOWN_LINE)).toBe(0);
    },
    90_000,
  );

  it.skipIf(!onPostgres)(
    "Redis down mid-load: no 5xx, no valid key refused, per-instance limits, one log line down and one back, shared again after",
    async () => {
      const redis = await ownRedis();
      await redis.start();
      const [a, b] = await Promise.all([instance({ REDIS_URL: redis.url }), instance({ REDIS_URL: redis.url })]);
      await roomInWindow(30_000);

      const load = await newKey();
      let stop = false;
      const seen = new Set<number>();
      const loop = async (base: string) => {
        while (!stop) seen.add((await get(base, load.secret, address(), "/whoami")).status);
      };
      const loops = [a.base, b.base, a.base, b.base].map(loop);
      await new Promise((r) => setTimeout(r, 200));
      await redis.stop();
      await until(() => lines(a.output(), DOWN_LINE) > 0 && lines(b.output(), DOWN_LINE) > 0, "both instances to log Redis down");
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(loops);
      expect([...seen].filter((status) => status !== 200 && status !== 429)).toEqual([]);
      expect(seen.has(200)).toBe(true);

      const local = await newKey();
      const ip = address();
      const perInstance = [];
      for (const base of [...Array(LIMIT + 1).fill(a.base), ...Array(LIMIT + 1).fill(b.base)]) {
        perInstance.push((await get(base, local.secret, ip)).status);
      }
      expect(perInstance).toEqual([...Array(LIMIT).fill(200), 429, ...Array(LIMIT).fill(200), 429]);

      await redis.start();
      await until(() => lines(a.output(), UP_LINE) === 2 && lines(b.output(), UP_LINE) === 2, "both instances to log Redis back");
      const shared = await newKey();
      const again = [];
      for (let i = 0; i < 2 * LIMIT; i++) again.push((await get(i % 2 ? b.base : a.base, shared.secret, ip)).status);
      expect(again).toEqual([...Array(LIMIT).fill(200), ...Array(LIMIT).fill(429)]);
      for (const server of [a, b]) {
        expect(lines(server.output(), DOWN_LINE)).toBe(1);
        expect(lines(server.output(), UP_LINE)).toBe(2); // at start, and back
      }
    },
    120_000,
  );

  it.skipIf(!onPostgres)(
    "Redis down at start: the instance starts, says so once, serves and counts locally",
    async () => {
      const port = await freePort();
      const server = await instance({ REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(lines(server.output(), DOWN_LINE)).toBe(1);
      const { secret } = await newKey();
      const ip = address();
      await roomInWindow(10_000);
      const statuses = [];
      for (let i = 0; i < LIMIT + 1; i++) statuses.push((await get(server.base, secret, ip)).status);
      expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
      expect(lines(server.output(), DOWN_LINE)).toBe(1);
      expect(lines(server.output(), UP_LINE)).toBe(0);
    },
    90_000,
  );
});
