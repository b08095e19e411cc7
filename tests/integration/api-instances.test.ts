/**
 * Several instances sharing one PostgreSQL: a key revoked through one is refused by the others
 * within a second (LISTEN/NOTIFY invalidates their verification caches), also after the LISTEN
 * connection was cut. Plus the cache's own rules (generation counter, pending changes).
 * PGlite serves one instance only (one process may open its folder), so the cross-instance part
 * runs on PostgreSQL.
 */
import type { ChildProcess } from "node:child_process";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { createApiApp, type ApiApp } from "@/server/api/app";
import type { Actor } from "@/lib/auth/actor";
import { KeyVerificationCache, type CachedKey } from "@/lib/keys/cache";
import { applyKeyChangeMessage, startKeyChangeListener, type KeyChangeListener } from "@/lib/keys/revocation";
import { createApiKey } from "@/lib/keys/service";
import { setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";
import { spawnApiServer, stopServer } from "../helpers/spawn-server";

const onPostgres = process.env.TEST_DB === "postgres";
const SKIP_REASON = "PostgreSQL only: the embedded PGlite database serves a single instance";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

function fakeKey(id: string, userId: string): CachedKey {
  return {
    key: {
      id,
      name: id,
      accessLevel: "read_only",
      status: "active",
      maskedKey: "lk_x",
      createdAt: new Date(),
      expiresAt: null,
      lastUsedAt: null,
      lastUsedIp: null,
      description: null,
      previousSecretExpiresAt: null,
      disabledByAdmin: false,
      disabledReason: null,
    },
    user: { id: userId, email: "u@example.test", name: "u", role: "staff", kind: "person" },
  };
}

describe("the verification cache's rules", () => {
  it("drops a fill that raced with an invalidation (generation counter)", () => {
    const cache = new KeyVerificationCache();
    cache.configure("local");
    const generation = cache.generation;
    cache.invalidate({ keyIds: ["k1"] }); // a revocation lands while the lookup is in flight
    expect(cache.set("digest-1", fakeKey("k1", "u1"), generation)).toBe(false);
    expect(cache.get("digest-1")).toBeUndefined();
    expect(cache.set("digest-1", fakeKey("k1", "u1"), cache.generation)).toBe(true);
    expect(cache.get("digest-1")?.key.id).toBe("k1");
  });

  it("invalidates by key id and by user id (role changes), expires entries, and stays bounded", () => {
    const cache = new KeyVerificationCache({ ttlMs: 1_000, maxEntries: 3 });
    cache.configure("local");
    cache.set("a", fakeKey("k1", "u1"), cache.generation);
    cache.set("b", fakeKey("k2", "u1"), cache.generation);
    cache.set("c", fakeKey("k3", "u2"), cache.generation);
    cache.invalidate({ userId: "u1" });
    expect([cache.get("a"), cache.get("b")]).toEqual([undefined, undefined]);
    expect(cache.get("c")?.key.id).toBe("k3");
    cache.invalidate({ keyIds: ["k3"] });
    expect(cache.get("c")).toBeUndefined();

    const now = Date.now();
    for (const d of ["d1", "d2", "d3", "d4"]) cache.set(d, fakeKey(d, "u3"), cache.generation, now);
    expect(cache.size).toBe(3);
    expect(cache.get("d1", now)).toBeUndefined(); // the oldest went
    expect(cache.get("d4", now)?.key.id).toBe("d4");
    expect(cache.get("d4", now + 1_000)).toBeUndefined(); // expired
  });

  it("keeps a change announced here out of the cache until its own NOTIFY confirms the commit", () => {
    const cache = new KeyVerificationCache();
    cache.configure("listening");
    cache.setConnected(true);
    cache.set("a", fakeKey("k1", "u1"), cache.generation);
    const seq = cache.beginChange({ keyIds: ["k1"] });
    expect(cache.get("a")).toBeUndefined();
    // A lookup that read the row before the commit must not be stored, whatever its generation.
    expect(cache.set("a", fakeKey("k1", "u1"), cache.generation)).toBe(false);
    applyKeyChangeMessage(cache, JSON.stringify({ keyIds: ["k1"], origin: "another-instance", seq }), "this-instance");
    expect(cache.set("a", fakeKey("k1", "u1"), cache.generation)).toBe(false); // not ours: still pending
    applyKeyChangeMessage(cache, JSON.stringify({ keyIds: ["k1"], origin: "this-instance", seq }), "this-instance");
    expect(cache.set("a", fakeKey("k1", "u1"), cache.generation)).toBe(true);
  });

  it("serves nothing while the LISTEN connection is down, and an unreadable message clears it", () => {
    const cache = new KeyVerificationCache();
    cache.configure("listening");
    expect(cache.set("a", fakeKey("k1", "u1"), cache.generation)).toBe(false);
    cache.setConnected(true);
    expect(cache.set("a", fakeKey("k1", "u1"), cache.generation)).toBe(true);
    applyKeyChangeMessage(cache, "not json");
    expect(cache.get("a")).toBeUndefined();
    cache.set("a", fakeKey("k1", "u1"), cache.generation);
    cache.setConnected(false);
    expect(cache.get("a")).toBeUndefined();
  });
});

/** Polls `probe` until it answers `status`; returns the milliseconds it took. */
async function millisecondsUntil(probe: () => Promise<number>, status: number, limitMs = 5_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < limitMs) {
    if ((await probe()) === status) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 5));
  }
  return Number.POSITIVE_INFINITY;
}

describe.skipIf(!onPostgres)(`two instances, one PostgreSQL (${SKIP_REASON})`, () => {
  let listenerA: KeyChangeListener;
  let listenerB: KeyChangeListener;
  const cacheB = new KeyVerificationCache();
  let appA: ApiApp;
  let appB: ApiApp;
  let staff: Actor;
  let writer: string;

  beforeAll(async () => {
    listenerA = startKeyChangeListener(testDatabaseUrl(), { log: () => {}, heartbeatMs: 500, retryMs: 100 });
    listenerB = startKeyChangeListener(testDatabaseUrl(), {
      cache: cacheB,
      origin: "instance-b",
      log: () => {},
      heartbeatMs: 500,
      retryMs: 100,
    });
    expect(await listenerA.ready()).toBe(true);
    expect(await listenerB.ready()).toBe(true);
    appA = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
    appB = createApiApp({ keyRateLimit: 0, authFailureLimit: 0, cache: cacheB });
    staff = await makeUser("staff");
    writer = (await createApiKey(staff, { name: "writer", access_level: "read_write" })).secret;
  });
  afterAll(async () => {
    await listenerA.stop();
    await listenerB.stop();
  });

  const ping = async (app: ApiApp, key: string) =>
    (await app.request("http://b.test/api/v1/ping", { headers: { authorization: basic(key) } })).status;

  async function revokedAcross(name: string): Promise<number> {
    const { key, secret } = await createApiKey(staff, { name, access_level: "read_only" });
    expect(await ping(appA, secret)).toBe(200);
    expect(await ping(appB, secret)).toBe(200);
    const hitsBefore = cacheB.stats.hits;
    expect(await ping(appB, secret)).toBe(200);
    expect(cacheB.stats.hits).toBe(hitsBefore + 1); // B answers from its cache now
    const response = await appA.request(`http://a.test/api/v1/api_keys/${key.id}`, {
      method: "PATCH",
      headers: { authorization: basic(writer), "content-type": "application/json" },
      body: JSON.stringify({ status: "disabled" }),
    });
    expect(response.status).toBe(200);
    expect(await ping(appA, secret)).toBe(401); // the instance that made the change: next request
    return millisecondsUntil(() => ping(appB, secret), 401);
  }

  it("a key disabled through one instance is refused by the other within a second", async () => {
    const elapsed = await revokedAcross("cross-instance");
    console.log(`[api-instances] in-process: refused by the other instance after ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1_000);
  });

  it("an old secret revoked through one instance is refused by the other within a second; the new one keeps working", async () => {
    const { key, secret } = await createApiKey(staff, { name: "rotated across", access_level: "read_only" });
    const regenerated = await appA.request(`http://a.test/api/v1/api_keys/${key.id}/regenerate`, {
      method: "POST",
      headers: { authorization: basic(writer), "content-type": "application/json" },
      body: JSON.stringify({ grace_period_seconds: 3600 }),
    });
    expect(regenerated.status).toBe(200);
    const fresh = ((await regenerated.json()) as { key: string }).key;
    for (const app of [appA, appB]) {
      expect(await ping(app, secret)).toBe(200);
      expect(await ping(app, fresh)).toBe(200);
    }
    const hitsBefore = cacheB.stats.hits;
    expect(await ping(appB, secret)).toBe(200);
    expect(cacheB.stats.hits).toBe(hitsBefore + 1); // B answers the old secret from its cache

    const revoked = await appA.request(`http://a.test/api/v1/api_keys/${key.id}/previous_secret`, {
      method: "DELETE",
      headers: { authorization: basic(writer) },
    });
    expect(revoked.status).toBe(204);
    expect(await ping(appA, secret)).toBe(401);
    const elapsed = await millisecondsUntil(() => ping(appB, secret), 401);
    console.log(`[api-instances] previous secret revoked: refused by the other instance after ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1_000);
    expect(await ping(appB, fresh)).toBe(200);
    expect(await ping(appA, fresh)).toBe(200);
  });

  it("reconnects after its LISTEN connection is killed, clearing the cache, and still invalidates", async () => {
    const before = listenerB.connections;
    await db().execute(
      sql`select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'latchkey-key-listener' and datname = current_database()`,
    );
    const start = Date.now();
    while (listenerB.connections === before && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(listenerB.connections).toBe(before + 1);
    expect(listenerB.connected).toBe(true);
    expect(cacheB.size).toBe(0);
    while (!listenerA.connected && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(await revokedAcross("after reconnect")).toBeLessThan(1_000);
  });
});

describe.skipIf(!onPostgres)(`two server processes, one PostgreSQL (${SKIP_REASON})`, () => {
  const PORTS = [3410, 3411];
  const children: ChildProcess[] = [];

  async function startInstance(port: number): Promise<void> {
    children.push((await spawnApiServer({ port, timeoutMs: 30_000, env: { DATABASE_URL: testDatabaseUrl() } })).child);
  }

  afterAll(async () => {
    await Promise.all(children.map(stopServer));
  });

  it("a key disabled through one process is refused by the other within a second", async () => {
    await Promise.all(PORTS.map(startInstance));
    const staff = await makeUser("staff");
    const writer = (await createApiKey(staff, { name: "writer", access_level: "read_write" })).secret;
    const { key, secret } = await createApiKey(staff, { name: "target", access_level: "read_only" });
    const [a, b] = PORTS.map((port) => `http://127.0.0.1:${port}/api/v1`);
    const ping = (base: string) => fetch(`${base}/ping`, { headers: { authorization: basic(secret) } }).then((r) => r.status);
    expect(await ping(a!)).toBe(200);
    expect(await ping(b!)).toBe(200);
    expect(await ping(b!)).toBe(200);

    const response = await fetch(`${a}/api_keys/${key.id}`, {
      method: "PATCH",
      headers: { authorization: basic(writer), "content-type": "application/json" },
      body: JSON.stringify({ status: "disabled" }),
    });
    expect(response.status).toBe(200);
    expect(await ping(a!)).toBe(401);
    const elapsed = await millisecondsUntil(() => ping(b!), 401);
    console.log(`[api-instances] two processes: refused by the other process after ${elapsed.toFixed(1)} ms`);
    expect(elapsed).toBeLessThan(1_000);
    // Unauthenticated requests outside /api/v1 get JSON too in API-only mode.
    const stray = await fetch(`http://127.0.0.1:${PORTS[1]}/nowhere`);
    expect(stray.status).toBe(404);
    expect(await stray.json()).toMatchObject({ code: 404 });
  });
});
