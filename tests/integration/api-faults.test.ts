/**
 * The API when the database fails: an unreachable database is a 503 JSON with Retry-After (never
 * a 500, never a hang), the circuit breaker then answers at once and closes when the database is
 * back; a request that hangs on a connection meets its deadline; and a failed query's parameters
 * (key digests among them) never reach the log.
 */
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { createServer, type Server } from "node:http";
import { sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { connect } from "@/db/client";
import { db } from "@/lib/runtime";
import { createApiApp } from "@/server/api/app";
import { createApiRequestListener } from "@/server/api/node";
import { keyring } from "@/lib/runtime";
import { DatabaseHealth, postgresProbe } from "@/server/http/database-health";
import { keyCache } from "@/lib/runtime";
import { digestApiKey } from "@/lib/keys/crypto";
import { createApiKey } from "@/lib/keys/service";
import { setupTestDatabase, testDatabaseUrl, withConnection } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

const PORT = process.env.TEST_DB === "postgres" ? 3467 : 3466;
const BASE = "http://latchkey.test/api/v1";

let teardown: () => Promise<void>;
let secret: string;
let writer: string;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off"); // every request asks the database
  const staff = await makeUser("staff");
  secret = (await createApiKey(staff, { name: "faults reader", access_level: "read_only" })).secret;
  writer = (await createApiKey(staff, { name: "faults writer", access_level: "read_write" })).secret;
});
afterAll(() => teardown());

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

/** Runs `fn` with the app's database pointed elsewhere (a refused port, a silent listener). */
async function withDatabaseAt<T>(url: string, fn: () => Promise<T>): Promise<T> {
  const broken = connect(url, { max: 2 });
  try {
    return await withConnection(broken, fn);
  } finally {
    await broken.sql.end({ timeout: 0 }).catch(() => {});
  }
}

/** A TCP port that accepts connections and never says a word: a database that hangs. */
async function silentListener(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server: TcpServer = createTcpServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/latchkey`,
    close: () => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

const REFUSED = "postgres://postgres@127.0.0.1:1/latchkey"; // nothing listens on port 1

function expectUnavailable(response: Response, body: unknown) {
  expect(response.status).toBe(503);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(body).toEqual({ code: 503, message: expect.stringContaining("database"), param: null });
}

describe("an unreachable database", () => {
  it("is a 503 with Retry-After on every route, then the breaker answers at once, and closes when it is back", async () => {
    let down = true;
    const health = new DatabaseHealth();
    // The monitor's check, as server/main.ts runs it against PostgreSQL, here told the outcome.
    health.startMonitor(
      async () => {
        if (down) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      },
      { heartbeatMs: 60_000, retryMs: 20 },
    );
    const app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0, health });
    const call = (method: string, path: string, key = writer, body?: unknown) =>
      app.request(`${BASE}${path}`, {
        method,
        headers: { authorization: basic(key), "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    try {
      await withDatabaseAt(REFUSED, async () => {
        const first = await call("GET", "/whoami");
        expectUnavailable(first, await first.json());
        expect(health.available).toBe(false);
        // Open: refused before the database is asked (the pool would refuse again anyway).
        for (const [method, path, body] of [
          ["GET", "/ping"],
          ["GET", "/api_keys"],
          ["POST", "/api_keys", { name: "during the outage" }],
          ["GET", "/api_keys/00000000-0000-0000-0000-000000000000"],
        ] as const) {
          const response = await call(method, path, writer, body);
          expectUnavailable(response, await response.json());
        }
        // The OpenAPI document needs no database.
        expect((await app.request(`${BASE}/openapi.json`)).status).toBe(200);
      });
      down = false;
      await vi.waitFor(() => expect(health.available).toBe(true), { timeout: 5_000, interval: 20 });
      expect((await call("GET", "/whoami")).status).toBe(200);
    } finally {
      health.stopMonitor();
    }
  });

  it("is a 503 on the ping fast path too, and without a monitor the breaker closes after its cool-down", async () => {
    const health = new DatabaseHealth({ cooldownMs: 50 });
    const server: Server = createServer(createApiRequestListener({ keyRateLimit: 0, authFailureLimit: 0, health }));
    await new Promise<void>((resolve) => server.listen(PORT, "127.0.0.1", resolve));
    const ping = () => fetch(`http://127.0.0.1:${PORT}/api/v1/ping`, { headers: { authorization: basic(secret) } });
    try {
      await withDatabaseAt(REFUSED, async () => {
        const refused = await ping();
        expectUnavailable(refused, await refused.json());
      });
      await vi.waitFor(async () => expect((await ping()).status).toBe(200), { timeout: 5_000, interval: 60 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("that hangs: the request meets its deadline and gets 503, it does not wait for the connection", async () => {
    const silent = await silentListener();
    const health = new DatabaseHealth({ cooldownMs: 0 });
    const app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0, health, deadlineMs: 300 });
    const server: Server = createServer(createApiRequestListener({ keyRateLimit: 0, authFailureLimit: 0, health, deadlineMs: 300 }));
    await new Promise<void>((resolve) => server.listen(PORT + 10, "127.0.0.1", resolve));
    try {
      await withDatabaseAt(silent.url, async () => {
        const viaApp = await app.request(`${BASE}/api_keys`, { headers: { authorization: basic(secret) } });
        expectUnavailable(viaApp, await viaApp.json());
        const viaPing = await fetch(`http://127.0.0.1:${PORT + 10}/api/v1/ping`, { headers: { authorization: basic(secret) } });
        expectUnavailable(viaPing, await viaPing.json());
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await silent.close();
    }
  });
});

describe("a failure that comes after the deadline", () => {
  it("still opens the breaker on the fast paths: the 503 went out, the database's refusal is not lost", async () => {
    const silent = await silentListener();
    const health = new DatabaseHealth({ cooldownMs: 60_000 });
    const server: Server = createServer(createApiRequestListener({ keyRateLimit: 0, authFailureLimit: 0, health, deadlineMs: 300 }));
    await new Promise<void>((resolve) => server.listen(PORT + 11, "127.0.0.1", resolve));
    try {
      await withDatabaseAt(silent.url, async () => {
        const ping = await fetch(`http://127.0.0.1:${PORT + 11}/api/v1/ping`, { headers: { authorization: basic(secret) } });
        expectUnavailable(ping, await ping.json());
        expect(health.available).toBe(true); // a deadline alone says nothing of the database
        // The driver gives up on the silent server (its connect timeout, 2 s), after the 503 went out.
        await vi.waitFor(() => expect(health.available).toBe(false), { timeout: 6_000, interval: 50 });
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await silent.close();
    }
  });
});

describe("what a failed query leaves in the log", () => {
  const logged: string[] = [];
  beforeAll(() => {
    for (const method of ["error", "warn", "log", "info"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack}` : String(arg))).join(" "));
      });
    }
  });
  afterEach(async () => {
    await db().execute(sql`drop trigger if exists latchkey_test_fail on api_keys`);
  });
  afterAll(() => vi.restoreAllMocks());

  async function failWrites(timing: "insert" | "update") {
    await db().execute(sql`create or replace function latchkey_test_fail() returns trigger language plpgsql as $$
      begin raise exception 'refused by a test trigger'; end $$`);
    await db().execute(
      sql.raw(`create trigger latchkey_test_fail before ${timing} on api_keys for each row execute function latchkey_test_fail()`),
    );
  }

  it("a failed UPDATE whose parameters hold the key's digest logs one line with neither", async () => {
    const { secret: fresh } = await createApiKey(await makeUser("staff"), { name: "never used", access_level: "read_only" });
    const digest = digestApiKey(fresh, keyring());
    await failWrites("update"); // recording "last used" now fails; its query's parameters include the digest
    logged.length = 0;
    const app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0, health: new DatabaseHealth() });
    const response = await app.request(`${BASE}/ping`, { headers: { authorization: basic(fresh) } });
    expect(response.status).toBe(200); // bookkeeping never fails the request it describes
    expect(logged.length).toBe(1);
    expect(logged[0]).toContain("could not record last use");
    expect(logged[0]).toContain("refused by a test trigger");
    for (const line of logged) {
      expect(line).not.toContain(digest);
      expect(line).not.toContain(fresh);
      expect(line).not.toMatch(/params/i);
      expect(line).not.toMatch(/update "api_keys"/i);
    }
  });

  it("a failed INSERT behind POST /api_keys is a 500 JSON and logs one line without the query or its parameters", async () => {
    await failWrites("insert");
    logged.length = 0;
    const app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0, health: new DatabaseHealth() });
    const response = await app.request(`${BASE}/api_keys`, {
      method: "POST",
      headers: { authorization: basic(writer), "content-type": "application/json" },
      body: JSON.stringify({ name: "refused by the trigger" }),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ code: 500, message: "Internal server error.", param: null });
    expect(logged.length).toBe(1);
    expect(logged[0]).toContain("refused by a test trigger");
    expect(logged[0]).not.toMatch(/params/i);
    expect(logged[0]).not.toMatch(/insert into/i);
    expect(logged[0]).not.toMatch(/[0-9a-f]{64}/); // no digest (HMAC-SHA256, hex)
    expect(logged[0]).not.toContain("\n");
  });
});

// The probe server/main.ts runs against PostgreSQL: a real refusal is a failed check.
describe("the PostgreSQL probe", () => {
  it("fails against a refused port and succeeds against the database", async () => {
    const refused = postgresProbe(REFUSED);
    await expect(refused.probe()).rejects.toThrow();
    await refused.close();
    if (process.env.TEST_DB === "postgres") {
      const live = postgresProbe(testDatabaseUrl());
      await expect(live.probe()).resolves.toBeUndefined();
      await live.close();
    }
  });
});
