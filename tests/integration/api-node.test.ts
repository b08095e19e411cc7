/**
 * The API as server/main.ts serves it: a node:http server with server/api/node.ts's listener. GET
 * /api/v1/ping, /whoami and /api_keys (no query string) and POST /verify take the fast path,
 * everything else the Hono app; both must answer alike.
 */
import { createServer, type Server } from "node:http";
import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/runtime";
import { auditLog } from "@/db/schema";
import { createApiRequestListener, isApiPath } from "@/server/api/node";
import { keyCache } from "@/lib/runtime";
import { KeyVerificationCache } from "@/lib/keys/cache";
import { ApiGate } from "@/server/api/gate";
import { generateApiKey } from "@/lib/keys/format";
import { startKeyChangeListener, type KeyChangeListener } from "@/lib/keys/revocation";
import { createApiKey, renameApiKey } from "@/lib/keys/service";
import { setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";
import { pause, rawExchange } from "../helpers/raw-http";

// One port per vitest project (they run side by side), inside the range this suite may use.
const BASE_PORT = process.env.TEST_DB === "postgres" ? 3455 : 3450;
let teardown: () => Promise<void>;
let keyListener: KeyChangeListener | undefined;
const servers: Server[] = [];

beforeAll(async () => {
  teardown = await setupTestDatabase();
  if (process.env.TEST_DB === "postgres") {
    keyListener = startKeyChangeListener(testDatabaseUrl(), { log: () => {} });
    await keyListener.ready();
  } else keyCache().configure("local");
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)))));
  await keyListener?.stop();
  keyCache().configure("off");
  await teardown();
});

let nextPort = BASE_PORT;
async function serve(options: Parameters<typeof createApiRequestListener>[0]): Promise<string> {
  const listener = createApiRequestListener(options);
  const server = createServer(listener);
  const port = nextPort++;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  servers.push(server);
  return `http://127.0.0.1:${port}`;
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

async function get(base: string, path: string, authorization?: string, ip = "192.0.2.44", method = "GET") {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(authorization === undefined ? {} : { authorization }), "x-latchkey-client-ip": ip },
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

describe("isApiPath", () => {
  it.each([
    ["/api/v1", true],
    ["/api/v1/ping", true],
    ["/api/v1?x=1", true],
    ["/api/v1/api_keys/123/regenerate", true],
    ["/api/v10/ping", false],
    ["/api/v1x", false],
    ["/api/auth/session", false],
    ["/profile", false],
    [undefined, false],
  ])("%s -> %s", (url, expected) => {
    expect(isApiPath(url)).toBe(expected);
  });
});

describe("the node listener", () => {
  let base: string;
  let secret: string;
  beforeAll(async () => {
    base = await serve({ keyRateLimit: 0, authFailureLimit: 0 });
    secret = (await createApiKey(await makeUser("staff"), { name: "node listener", access_level: "read_only" })).secret;
  });

  it("answers GET /api/v1/ping with a valid key, headers and all", async () => {
    const result = await get(base, "/api/v1/ping", basic(secret));
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toEqual({ data: "pong!" });
    expect(result.headers.get("content-type")).toBe("application/json");
    expect(result.headers.get("cache-control")).toBe("no-store");
    expect(result.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await get(base, "/api/v1/ping", `Bearer ${secret}`)).status).toBe(200);
  });

  it.each(["/api/v1/ping", "/api/v1/whoami", "/api/v1/api_keys"])(
    "answers %s on the fast path and the framework path alike, for good and bad credentials",
    async (path) => {
      const bad = generateApiKey();
      const cases = [
        basic(secret),
        undefined,
        "",
        basic(`${bad.slice(0, -1)}${bad.endsWith("x") ? "y" : "x"}`),
        basic(bad),
        "Basic %%%",
        "Digest abc",
        `Basic ${Buffer.from("alice:pw").toString("base64")}`,
      ];
      for (const authorization of cases) {
        const fast = await get(base, path, authorization);
        // An empty query string: not the fast path's exact URL, and no parameter (any would be a 422).
        const framework = await get(base, `${path}?`, authorization);
        expect({ status: fast.status, body: JSON.parse(fast.text) }).toEqual({
          status: framework.status,
          body: JSON.parse(framework.text),
        });
        for (const header of ["content-type", "cache-control", "x-content-type-options", "www-authenticate"]) {
          expect(fast.headers.get(header)?.split(";")[0]).toBe(framework.headers.get(header)?.split(";")[0]);
        }
      }
    },
  );

  it("refuses a POST /verify body over 16 KB sent in chunks (no Content-Length) with the API's 413", async () => {
    const chunk = new TextEncoder().encode(`{"key":"${"x".repeat(8 * 1024)}`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    });
    const response = await fetch(`${base}/api/v1/verify`, {
      method: "POST",
      headers: { authorization: basic(secret), "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 413, param: null });
  });

  it.each([
    ["with the headers, in one write", [0]],
    ["after the headers, 50 ms later", [50]],
    ["in two writes, the second 50 ms later", [0, 50]],
    ["chunked", "chunked"],
  ] as const)("takes a POST /verify body sent %s, as the framework does", async (_how, timing) => {
    const payload = JSON.stringify({ key: secret });
    const head = (path: string, framing: string) =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic(secret)}\r\nContent-Type: application/json\r\n` +
      `X-Latchkey-Client-Ip: 192.0.2.44\r\n${framing}Connection: close\r\n\r\n`;
    async function send(path: string): Promise<{ status: number; body: unknown }> {
      const answer = await rawExchange(Number(new URL(base).port), async (socket) => {
        if (timing === "chunked") {
          socket.write(head(path, "Transfer-Encoding: chunked\r\n"));
          socket.write(`${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`);
          return;
        }
        const parts = timing.length === 1 ? [payload] : [payload.slice(0, 10), payload.slice(10)];
        const lengthHeader = `Content-Length: ${Buffer.byteLength(payload)}\r\n`;
        if (timing[0] === 0) socket.write(head(path, lengthHeader) + parts[0]);
        else {
          socket.write(head(path, lengthHeader));
          await pause(timing[0]);
          socket.write(parts[0]!);
        }
        if (parts[1] !== undefined) {
          await pause(timing[1] ?? 0);
          socket.write(parts[1]);
        }
      });
      // The framework may answer chunked: the JSON is between the first and the last brace.
      const text = answer.payload;
      return {
        status: answer.status,
        body: JSON.parse(text.includes("{") ? text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1) : "null"),
      };
    }
    const fast = await send("/api/v1/verify");
    expect(fast).toMatchObject({ status: 200, body: { valid: true, code: "valid" } });
    expect(fast).toEqual(await send("/api/v1/verify?"));
  });

  it("sends HEAD, query strings and other paths through the framework, JSON throughout", async () => {
    const head = await get(base, "/api/v1/ping", basic(secret), undefined, "HEAD");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    const inQuery = await get(base, `/api/v1/ping?api_key=${secret}`, basic(secret));
    expect(inQuery.status).toBe(400);
    expect(JSON.parse(inQuery.text)).toMatchObject({ code: 400, param: "api_key" });
    const wrongMethod = await get(base, "/api/v1/ping", basic(secret), undefined, "POST");
    expect(wrongMethod.status).toBe(405);
    expect(JSON.parse(wrongMethod.text)).toMatchObject({ code: 405 });
    const unknown = await get(base, "/api/v1/nothing/here", basic(secret));
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toMatchObject({ code: 404 });
  });
});

describe("rate limits on the fast path", () => {
  it("count per key with the framework's routes, 429 with Retry-After, one audit row", async () => {
    const base = await serve({ keyRateLimit: 3, authFailureLimit: 0 });
    const staff = await makeUser("staff");
    const { secret, key } = await createApiKey(staff, { name: "limited", access_level: "read_only" });
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoWindow));
    // "?": the framework's route for the same endpoint.
    expect((await get(base, "/api/v1/ping", basic(secret))).status).toBe(200);
    expect((await get(base, "/api/v1/whoami?", basic(secret))).status).toBe(200);
    expect((await get(base, "/api/v1/api_keys", basic(secret))).status).toBe(200);
    const refused = await get(base, "/api/v1/ping", basic(secret));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.parse(refused.text)).toMatchObject({ code: 429 });
    expect((await get(base, "/api/v1/whoami?", basic(secret))).status).toBe(429);
    expect((await get(base, "/api/v1/whoami", basic(secret))).status).toBe(429);
    const rows = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, key.id), eq(auditLog.action, "api_key.rate_limited")));
    expect(rows).toHaveLength(1);
  });

  it("slow an address's failed authentications on any route, never its valid keys", async () => {
    const base = await serve({ keyRateLimit: 0, authFailureLimit: 2 });
    const { secret } = await createApiKey(await makeUser("staff"), { name: "blocked address", access_level: "read_only" });
    expect((await get(base, "/api/v1/ping", basic(generateApiKey()), "198.51.100.70")).status).toBe(401);
    expect((await get(base, "/api/v1/whoami?", basic(generateApiKey()), "198.51.100.70")).status).toBe(401);
    const blocked = await get(base, "/api/v1/ping", basic(generateApiKey()), "198.51.100.70");
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await get(base, "/api/v1/whoami?", basic(generateApiKey()), "198.51.100.70")).status).toBe(429);
    expect((await get(base, "/api/v1/api_keys", "Bearer lk_x", "198.51.100.70")).status).toBe(429);
    // No credentials at all: the challenge, never a 429, on the fast path and the framework's alike.
    for (const path of ["/api/v1/ping", "/api/v1/whoami?", "/api/v1/api_keys", "/api/v1/admin/api_keys"]) {
      const challenged = await get(base, path, undefined, "198.51.100.70");
      expect(challenged.status, path).toBe(401);
      expect(challenged.headers.get("www-authenticate"), path).toMatch(/^Basic /);
    }
    // The fast path and the Hono app alike serve a valid key from the limited address.
    expect((await get(base, "/api/v1/ping", basic(secret), "198.51.100.70")).status).toBe(200);
    expect((await get(base, "/api/v1/whoami?", basic(secret), "198.51.100.70")).status).toBe(200);
    expect((await get(base, "/api/v1/whoami", basic(secret), "198.51.100.70")).status).toBe(200);
    expect((await get(base, "/api/v1/ping", basic(secret), "198.51.100.71")).status).toBe(200);
  });
});

describe("the gate answers from memory when it can", () => {
  it("a cached key with nothing to write and limits counted in memory: no promise; a lookup: a promise", async () => {
    const cache = new KeyVerificationCache();
    cache.configure("local");
    const gate = new ApiGate({ cache, keyRateLimit: 3, authFailureLimit: 0, counter: null });
    const { secret, key } = await createApiKey(await makeUser("staff"), { name: "from memory", access_level: "read_only" });
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoWindow));

    // The first use looks the key up and writes its last use: it has to wait.
    const first = gate.admit(basic(secret), "/api/v1/ping", "192.0.2.90");
    expect(first).toBeInstanceOf(Promise);
    expect((await first).found.key.id).toBe(key.id);
    // Then the cache answers, the last use was written this minute, the limit counts in memory.
    const second = gate.admit(basic(secret), "/api/v1/ping", "192.0.2.90");
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as Awaited<typeof first>).found.key.id).toBe(key.id);
    const checked = gate.verify(secret, "192.0.2.90");
    expect(checked).not.toBeInstanceOf(Promise);
    expect(checked).toMatchObject({ valid: true, code: "valid" });
    // The fourth use this minute is over the limit of 3: its audit row makes the refusal wait;
    // the next refusal is already known.
    const over = gate.admit(basic(secret), "/api/v1/ping", "192.0.2.90");
    expect(over).toBeInstanceOf(Promise);
    await expect(over).rejects.toMatchObject({ status: 429 });
    expect(() => gate.admit(basic(secret), "/api/v1/ping", "192.0.2.90")).toThrow(expect.objectContaining({ status: 429 }));

    // Refusals are never admissions: an unknown key is looked up (a promise) and rejected.
    await expect(gate.admit(basic(generateApiKey()), "/api/v1/ping", "192.0.2.90")).rejects.toMatchObject({ status: 401 });
  });
});

describe("a cached key's answers on the fast path", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("follow the key: whoami's last use as it moves while the key stays cached, a change at once, as the framework answers", async () => {
    const cache = new KeyVerificationCache({ ttlMs: 10 * 60_000, maxEntries: 100 });
    cache.configure("local");
    const base = await serve({ keyRateLimit: 0, authFailureLimit: 0, cache });
    const owner = await makeUser("staff");
    const { key, secret } = await createApiKey(owner, { name: "answers", access_level: "read_only" });
    const { key: otherKey, secret: other } = await createApiKey(owner, { name: "answers' subject", access_level: "read_only" });
    const whoami = async (path = "/api/v1/whoami") => JSON.parse((await get(base, path, basic(secret))).text);
    const verify = async (path = "/api/v1/verify") => {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { authorization: basic(secret), "content-type": "application/json", "x-latchkey-client-ip": "192.0.2.44" },
        body: JSON.stringify({ key: other }),
      });
      return response.json();
    };

    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    const first = await whoami();
    expect(first.last_used_at).not.toBeNull();
    expect(await whoami()).toEqual(first);
    expect(await verify()).toMatchObject({ valid: true, key: { name: "answers' subject" } });

    // A minute on: the same cached key, its last use moved (written once a minute).
    vi.setSystemTime(Date.now() + 61_000);
    const later = await whoami();
    expect(Date.parse(later.last_used_at) - Date.parse(first.last_used_at)).toBeGreaterThanOrEqual(61_000);
    expect(later).toEqual({ ...first, last_used_at: later.last_used_at });
    expect(await whoami("/api/v1/whoami?")).toEqual(later);

    // A change replaces the cached key (as announceKeyChange does): the answers follow at once.
    const renamed = await renameApiKey(owner, key.id, "answers, renamed");
    const subject = await renameApiKey(owner, otherKey.id, "answers' subject, renamed");
    cache.invalidate({ keyIds: [renamed.id, subject.id] });
    expect(await whoami()).toMatchObject({ name: "answers, renamed" });
    expect(await verify()).toMatchObject({ valid: true, key: { name: "answers' subject, renamed" } });
    expect(await whoami()).toEqual(await whoami("/api/v1/whoami?"));
    expect(await verify()).toEqual(await verify("/api/v1/verify?"));
  });
});
