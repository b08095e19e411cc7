/**
 * The API as its clients meet it, over HTTP (server/api/node.ts's listener, as server/main.ts
 * serves it), held to its own served OpenAPI document so the two cannot drift:
 *
 * - every response of every documented operation is validated with ajv (JSON Schema 2020-12,
 *   with formats) against the schema the document gives for its status, and every operation
 *   is exercised;
 * - one rule on every endpoint: an unknown query parameter is a 422 naming it, a body over 16 KB
 *   a 413, a body that is not a JSON object (or any body where none is taken) a 400, and each
 *   refusal changes nothing;
 * - 401s carry WWW-Authenticate, so `curl --anyauth` authenticates;
 * - a typed client generated from the served document (openapi-typescript, into an ignored
 *   folder at test time) type-checks against a flow and runs it with openapi-fetch.
 */
// First: the API's schemas extend zod (.openapi) before any other module builds one.
import { serveApi } from "../helpers/api-server";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import openapiTS, { astToString } from "openapi-typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { generateApiKey } from "@/lib/keys/format";
import { createApiKey, regenerateApiKey } from "@/lib/keys/service";
import { keyCache } from "@/lib/runtime";
import { MAX_BODY_BYTES } from "@/server/api/middleware";
import { WWW_AUTHENTICATE } from "@/server/api/errors";
import { setupTestDatabase } from "../helpers/db";
import { rawExchange } from "../helpers/raw-http";
import { expectUnchanged, makeUser, snapshot } from "../helpers/fixtures";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
// Generated at test time into an ignored folder, one per database project (they run side by side).
const GENERATED = path.join(ROOT, "test-results", `api-contract-${process.env.TEST_DB ?? "pglite"}`);

const METHODS = ["get", "post", "patch", "delete", "put"] as const;
type Method = (typeof METHODS)[number];
type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { required?: boolean };
  responses: Record<string, { content?: Record<string, unknown> }>;
}
interface Document {
  paths: Record<string, Partial<Record<Method, Operation>>>;
}

let teardown: () => Promise<void>;
let api: Awaited<ReturnType<typeof serveApi>>;
let origin: string;
let document: Document;
let ajv: Ajv2020;
let user: Actor;
let writeKey: string;
let readKey: string;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off");
  api = await serveApi({ keyRateLimit: 0, authFailureLimit: 0 });
  origin = api.origin;
  document = (await (await fetch(`${origin}/api/v1/openapi.json`)).json()) as Document;
  // The served document itself is the schema: responses are checked against its JSON pointers.
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document as unknown as Json, "openapi");
  user = await makeUser("admin", { name: "Contract Admin" });
  writeKey = (await createApiKey(user, { name: "contract writer", access_level: "read_write" })).secret;
  readKey = (await createApiKey(user, { name: "contract reader", access_level: "read_only" })).secret;
});
afterAll(async () => {
  await api.close();
  await teardown();
});

const pointerSegment = (text: string) => encodeURIComponent(text.replaceAll("~", "~0").replaceAll("/", "~1"));
const validators = new Map<string, ValidateFunction>();

function responseValidator(template: string, method: Method, status: number): ValidateFunction | null {
  const id = `${method} ${template} ${status}`;
  const operation = document.paths[template]?.[method];
  const response = operation?.responses[String(status)];
  expect(response, `${id} is documented`).toBeDefined();
  if (!response?.content) return null;
  expect(Object.keys(response.content), id).toContain("application/json");
  let validate = validators.get(id);
  if (!validate) {
    const pointer = ["paths", template, method, "responses", String(status), "content", "application/json", "schema"].map(pointerSegment);
    validate = ajv.compile({ $ref: `openapi#/${pointer.join("/")}` });
    validators.set(id, validate);
  }
  return validate;
}

/** "METHOD /template" of every documented operation that answered with a success, validated. */
const covered = new Set<string>();
let validated = 0;

interface CallOptions {
  accept?: string;
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  query?: string;
}

/**
 * Calls an operation (`template` with `params` filled in) and validates the answer against the
 * document: its status is documented for the operation, its body matches that status's schema.
 */
async function call(method: Method, template: string, params: Record<string, string> = {}, options: CallOptions = {}) {
  const url = `${origin}/api/v1${template.replace(/\{(\w+)\}/g, (_, name: string) => params[name]!)}${options.query ?? ""}`;
  const key = options.key === undefined ? writeKey : options.key;
  const headers: Record<string, string> = { "x-latchkey-client-ip": "192.0.2.90" };
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.accept) headers.accept = options.accept;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(url, { method: method.toUpperCase(), headers, body });
  const text = await response.text();
  if (response.headers.get("content-type")?.startsWith("text/csv")) {
    // A CSV answer: documented for this status, and CSV with its header row.
    expect(Object.keys(document.paths[template]?.[method]?.responses[String(response.status)]?.content ?? {}), url).toContain("text/csv");
    expect(text, url).toMatch(/^id,[a-z_,]+\r\n/);
    covered.add(`${method.toUpperCase()} ${template} (csv)`);
    return { status: response.status, headers: response.headers, json: {} as Json };
  }
  const json: unknown = text ? JSON.parse(text) : null;
  const validate = responseValidator(template, method, response.status);
  if (validate) {
    expect(response.headers.get("content-type"), `${method} ${template}`).toMatch(/^application\/json/);
    if (!validate(json)) throw new Error(`${method} ${template} ${response.status}: ${ajv.errorsText(validate.errors)}\n${text}`);
    validated++;
  } else expect(text, `${method} ${template} ${response.status} has no body`).toBe("");
  if (response.status < 300) covered.add(`${method.toUpperCase()} ${template}`);
  return { status: response.status, headers: response.headers, json: json as Json };
}

const operations = () =>
  Object.entries(document.paths).flatMap(([template, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ template, method, operation: item[method]! })),
  );

/** A key of the test user's to act on, so every {id} route has something real to answer about. */
async function freshKeyId(): Promise<string> {
  return (await createApiKey(user, { name: `contract ${Math.random().toString(36).slice(2)}`, access_level: "read_only" })).key.id;
}

describe("every response of every operation matches the served document (ajv, 2020-12)", () => {
  it("the successes, and the refusals each operation documents", async () => {
    await call("get", "/openapi.json", {}, { key: null });
    await call("get", "/ping");
    await call("get", "/whoami");
    await call("get", "/ping", {}, { key: null });
    await call("get", "/whoami", {}, { key: generateApiKey() });

    const created = await call("post", "/api_keys", {}, { body: { name: "contract created" } });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    await call("post", "/api_keys", {}, { body: { name: "contract created" } }); // 409
    await call("post", "/api_keys", {}, { key: readKey, body: { name: "read only writes" } }); // 403
    await call("post", "/api_keys", {}, { body: { name: "" } }); // 422
    await call("get", "/api_keys", {}, { query: "?per_page=1" });
    await call("get", "/api_keys", {}, { query: "?cursor=nonsense" });
    await call("get", "/api_keys/{id}", { id });
    await call("get", "/api_keys/{id}", { id: "not-a-key" });
    await call("patch", "/api_keys/{id}", { id }, { body: { description: "described" } });
    await call("patch", "/api_keys/{id}", { id }, { body: {} });
    await call("post", "/api_keys/{id}/regenerate", { id }, { body: { grace_period_seconds: 60 } });
    await call("delete", "/api_keys/{id}/previous_secret", { id });
    await call("delete", "/api_keys/{id}/previous_secret", { id }); // 404: none left
    await call("post", "/verify", {}, { body: { key: readKey } });
    await call("post", "/verify", {}, { body: { key: "nope" } });
    await call("post", "/verify", {}, { key: null, body: { key: readKey } });
    await call("delete", "/api_keys/{id}", { id });
    await call("delete", "/api_keys/{id}", { id });

    // The admin API, as the Admin the test user is, and as a Staff user (404).
    const staffKey = (await createApiKey(await makeUser("staff"), { name: "contract staff", access_level: "read_write" })).secret;
    const target = await freshKeyId();
    const page = await call("get", "/admin/api_keys", {}, { query: "?limit=2&sort=name" });
    await call("get", "/admin/api_keys", {}, { query: `?limit=2&sort=name&cursor=${page.json.cursor as string}` });
    await call("get", "/admin/api_keys", {}, { query: "?status=expired&q=contract" });
    await call("get", "/admin/api_keys", {}, { query: "?cursor=nonsense" });
    await call("get", "/admin/api_keys", {}, { query: "?status=gone" });
    await call("get", "/admin/api_keys", {}, { key: staffKey });
    await call("get", "/admin/api_keys", {}, { accept: "text/csv" });
    await call("patch", "/admin/api_keys/{id}", { id: target }, { body: { status: "disabled" } });
    await call("patch", "/admin/api_keys/{id}", { id: target }, { body: { status: "active" } });
    await call("patch", "/admin/api_keys/{id}", { id: target }, { key: readKey, body: { status: "disabled" } });
    await call("patch", "/admin/api_keys/{id}", { id: target }, { body: { status: "paused" } });
    await call("patch", "/admin/api_keys/{id}", { id: target }, { key: staffKey, body: { status: "disabled" } });
    await call("get", "/admin/audit_log", {}, { query: "?limit=3&action=api_key.disabled" });
    await call("get", "/admin/audit_log", {}, { query: "?action=nope" });
    await call("get", "/admin/audit_log", {}, { key: staffKey });
    await call("get", "/admin/audit_log", {}, { accept: "text/csv" });
    await call("delete", "/admin/api_keys/{id}", { id: target }, { key: readKey });
    await call("delete", "/admin/api_keys/{id}", { id: target });
    await call("delete", "/admin/api_keys/{id}", { id: target });

    for (const { template, method, operation } of operations()) {
      expect(covered, `${operation.operationId} was exercised with a success`).toContain(`${method.toUpperCase()} ${template}`);
    }
    expect(covered).toContain("GET /admin/api_keys (csv)");
    expect(covered).toContain("GET /admin/audit_log (csv)");
    expect(validated).toBeGreaterThan(35);
  });
});

describe("the statuses beside the operations (405, 408, 431, 503) are documented and match the document", () => {
  /** Validates an answer against what `method template` documents for its status. */
  function expectDocumented(template: string, method: Method, status: number, json: unknown, text: string) {
    const validate = responseValidator(template, method, status);
    expect(validate, `${method} ${template} ${status} has a JSON body`).not.toBeNull();
    if (!validate!(json)) throw new Error(`${method} ${template} ${status}: ${ajv.errorsText(validate!.errors)}\n${text}`);
    validated++;
  }

  it("405: another method on every documented path, with Allow naming exactly the path's methods", async () => {
    for (const [template, item] of Object.entries(document.paths)) {
      const methods = METHODS.filter((method) => item[method]);
      const other = (["put", "patch", "delete", "post"] as const).find((method) => !item[method])!;
      const url = `${origin}/api/v1${template.replace("{id}", await freshKeyId())}`;
      const response = await fetch(url, { method: other.toUpperCase(), headers: { authorization: `Bearer ${writeKey}` } });
      const text = await response.text();
      expect(response.status, `${other} ${template}`).toBe(405);
      const allowed = methods.map((method) => method.toUpperCase());
      if (allowed.includes("GET")) allowed.push("HEAD");
      expect(response.headers.get("allow")?.split(", ").sort(), template).toEqual(allowed.sort());
      for (const method of methods) expectDocumented(template, method, 405, JSON.parse(text), text);
    }
  });

  it("408: headers that stop arriving get the JSON 408, as every operation documents it", async () => {
    const slow = await serveApi(
      { keyRateLimit: 0, authFailureLimit: 0 },
      { headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 },
    );
    try {
      // Half a request line's headers, then silence.
      const answer = await rawExchange(
        Number(new URL(slow.origin).port),
        (socket) => void socket.write("GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n"),
      );
      expect(answer.status).toBe(408);
      expect(answer.head).toMatch(/\r\nconnection: close(\r\n|$)/i);
      for (const { template, method } of operations()) expectDocumented(template, method, 408, JSON.parse(answer.payload), answer.payload);
    } finally {
      await slow.close();
    }
  });

  it("431: headers over 16 KB get the JSON 431, as every operation documents it", async () => {
    const answer = await rawExchange(
      Number(new URL(origin).port),
      (socket) => void socket.write(`GET /api/v1/ping HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(20_000)}\r\n\r\n`),
    );
    expect(answer.status).toBe(431);
    for (const { template, method } of operations()) expectDocumented(template, method, 431, JSON.parse(answer.payload), answer.payload);
  });

  it("503 with Retry-After while the database is down: every authenticated operation, as documented", async () => {
    const { DatabaseHealth } = await import("@/server/http/database-health");
    const health = new DatabaseHealth({ cooldownMs: 60_000 });
    health.report(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
    const down = await serveApi({ keyRateLimit: 0, authFailureLimit: 0, health });
    try {
      const id = await freshKeyId();
      for (const { template, method } of operations()) {
        const url = `${down.origin}/api/v1${template.replace("{id}", id)}`;
        const body = method === "post" || method === "patch" ? JSON.stringify({ name: "never made", key: readKey }) : undefined;
        const response = await fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${writeKey}`, "content-type": "application/json" },
          body,
        });
        const text = await response.text();
        if (template === "/openapi.json") {
          // The document needs no database: it is served all the same.
          expect(response.status).toBe(200);
          continue;
        }
        expect(response.status, `${method} ${template}`).toBe(503);
        expect(Number(response.headers.get("retry-after")), `${method} ${template}`).toBeGreaterThan(0);
        expectDocumented(template, method, 503, JSON.parse(text), text);
      }
    } finally {
      await down.close();
    }
  });
});

describe("one rule for every endpoint (docs/API.md)", () => {
  /** Path parameters for an operation: a real key of the caller's, so the refusal is the rule's, not a 404. */
  async function paramsFor(template: string): Promise<Record<string, string>> {
    if (!template.includes("{id}")) return {};
    const id = await freshKeyId();
    if (template.endsWith("/previous_secret")) await regenerateApiKey(user, id, { grace_period_seconds: 600 });
    return { id };
  }

  it("an unknown query parameter is a 422 naming it, and changes nothing", async () => {
    for (const { template, method } of operations()) {
      const params = await paramsFor(template);
      const before = await snapshot();
      const body = method === "post" || method === "patch" ? { name: "never made" } : undefined;
      const result = await call(method, template, params, {
        query: "?colour=red",
        body,
        key: template === "/openapi.json" ? null : writeKey,
      });
      expect(result.status, `${method} ${template}`).toBe(422);
      expect(result.json, `${method} ${template}`).toEqual({ code: 422, message: "Unknown query parameter: colour.", param: "colour" });
      await expectUnchanged(before);
    }
  });

  it("a body over 16 KB is a 413 on every endpoint, and changes nothing", async () => {
    const big = JSON.stringify({ name: "x".repeat(MAX_BODY_BYTES) });
    for (const { template, method } of operations()) {
      if (method === "get") continue; // a GET cannot carry a body through fetch(); the same middleware answers it (api-verify)
      const params = await paramsFor(template);
      const before = await snapshot();
      const result = await call(method, template, params, { rawBody: big });
      expect(result.status, `${method} ${template}`).toBe(413);
      expect(result.headers.get("connection"), `${method} ${template}`).toBe("close");
      await expectUnchanged(before);
    }
  });

  it("a body that is not a JSON object is a 400 where a body is taken; any body is a 400 where none is", async () => {
    for (const { template, method, operation } of operations()) {
      if (method === "get") continue;
      const params = await paramsFor(template);
      for (const rawBody of ["not json", "[1, 2]", '"text"']) {
        const before = await snapshot();
        const result = await call(method, template, params, { rawBody });
        expect(result.status, `${method} ${template} ${rawBody}`).toBe(400);
        expect(result.json.message, `${method} ${template}`).toBe(
          operation.requestBody
            ? rawBody === "not json"
              ? "The request body is not valid JSON."
              : "The request body must be a JSON object."
            : "This endpoint takes no request body.",
        );
        await expectUnchanged(before);
      }
    }
  });

  it("a GET with a body (raw HTTP) is refused the same way: 400, or 413 over the limit", async () => {
    const { request } = await import("node:http");
    const send = (length: number) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${origin}/api/v1/whoami`, {
          method: "GET",
          headers: { authorization: `Bearer ${readKey}`, "content-length": String(length), "content-type": "application/json" },
        });
        req.on("response", (res) => (res.resume(), resolve(res.statusCode!)));
        req.on("error", reject);
        req.end("x".repeat(Math.min(length, 10)).padEnd(length, " "));
      });
    expect(await send(2)).toBe(400);
    expect(await send(MAX_BODY_BYTES + 1)).toBe(413);
  });
});

describe("401s challenge the client (RFC 9110)", () => {
  it("every 401 carries WWW-Authenticate, on the fast paths and the framework's", async () => {
    for (const [method, target] of [
      ["GET", "/api/v1/ping"],
      ["GET", "/api/v1/ping?"],
      ["GET", "/api/v1/api_keys"],
      ["POST", "/api/v1/verify"],
      ["GET", "/api/v1/no/such/path"],
    ] as const) {
      const response = await fetch(`${origin}${target}`, { method, body: method === "POST" ? "{}" : undefined });
      expect(response.status, target).toBe(401);
      expect(response.headers.get("www-authenticate"), target).toBe(WWW_AUTHENTICATE);
    }
  });

  it("clients that send credentials only when challenged authenticate (curl --anyauth, wget, Python's urllib)", async () => {
    const url = `${origin}/api/v1/whoami`;
    if (existsSync("/usr/bin/curl") || existsSync("/usr/local/bin/curl")) {
      const { stdout } = await run("curl", ["--silent", "--anyauth", "--user", `${readKey}:`, url]);
      expect(JSON.parse(stdout)).toMatchObject({ name: "contract reader" });
      // Without the challenge curl --anyauth would never send the key: the same call without it is refused.
      const { stdout: refused } = await run("curl", ["--silent", "--anyauth", url]);
      expect(JSON.parse(refused)).toMatchObject({ code: 401 });
    }
    // wget sends credentials only when challenged, by default.
    if (existsSync("/usr/bin/wget")) {
      const { stdout } = await run("wget", ["--quiet", "--output-document=-", `--user=${readKey}`, "--password=", url]);
      expect(JSON.parse(stdout)).toMatchObject({ name: "contract reader" });
    }
    // Python's urllib: HTTPBasicAuthHandler answers a Basic challenge for its realm.
    const python = ["/usr/bin/python3", "/usr/local/bin/python3"].find((candidate) => existsSync(candidate));
    if (python) {
      const script = [
        "import sys, urllib.request",
        "manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()",
        "manager.add_password(None, sys.argv[1], sys.argv[2], '')",
        "opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(manager))",
        "print(opener.open(sys.argv[1]).read().decode())",
      ].join("\n");
      const { stdout } = await run(python, ["-c", script, url, readKey]);
      expect(JSON.parse(stdout)).toMatchObject({ name: "contract reader" });
    }
    // The exchange itself, as any such client makes it: ask, read the challenge, answer it.
    const first = await fetch(url);
    expect(first.status).toBe(401);
    const challenge = first.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Basic realm="Latchkey API"/);
    const second = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${readKey}:`).toString("base64")}` } });
    expect(second.status).toBe(200);
  });
});

describe("what a raw HTTP client can send: every answer has a status line and a JSON body, never a 500", () => {
  const port = () => Number(new URL(origin).port);
  const exchange = (request: string) => rawExchange(port(), (socket) => void socket.write(request));
  const jsonOf = (payload: string) => JSON.parse(payload) as Json;
  const bearer = () => `Authorization: Bearer ${readKey}\r\n`;

  it.each([
    ["HTTP/1.0 without Host", "GET /api/v1/openapi.json HTTP/1.0\r\n\r\n"],
    ["HTTP/1.1 without Host", "GET /api/v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n"],
    ["an empty Host", "GET /api/v1/ping? HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"],
    ["a Host with a space", "GET /api/v1/whoami HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"],
    ["an unclosed IPv6 literal", "PUT /api/v1/ping HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n"],
    ["a port out of range", "GET /api/v1/no/such/path HTTP/1.1\r\nHost: 127.0.0.1:99999\r\nConnection: close\r\n\r\n"],
    ["two Host lines", "GET /api/v1/admin/api_keys HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"],
  ])("%s: 400 JSON, and nothing is served", async (_label, request) => {
    const answer = await exchange(request);
    expect(answer.status, answer.head).toBe(400);
    expect(answer.head).toMatch(/\r\ncontent-type: application\/json/i);
    expect(jsonOf(answer.payload)).toEqual({ code: 400, message: expect.stringMatching(/Host/), param: null });
  });

  it("the adapter's own refusal of a Host (behind a server without the check) is a 400 too, not a 500", async () => {
    const { createServer } = await import("node:http");
    const { createApiRequestListener } = await import("@/server/api/node");
    const bare = createServer({ requireHostHeader: false }, createApiRequestListener({ keyRateLimit: 0, authFailureLimit: 0 }));
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const { port: barePort } = bare.address() as { port: number };
      for (const host of ["Host: a b\r\n", "", "Host: [::1\r\n"]) {
        const answer = await rawExchange(
          barePort,
          (socket) => void socket.write(`GET /api/v1/openapi.json HTTP/1.1\r\n${host}Connection: close\r\n\r\n`),
        );
        expect(answer.status, host).toBe(400);
        expect(jsonOf(answer.payload)).toMatchObject({ code: 400, param: null });
      }
    } finally {
      await new Promise((resolve) => (bare.closeAllConnections(), bare.close(resolve)));
    }
  });

  it("a valid Host on the same requests is served as ever (IPv6 literals and ports included)", async () => {
    for (const host of [`127.0.0.1:${port()}`, "[::1]:3000", "keys.example.com", "LOCALHOST"]) {
      const answer = await exchange(`GET /api/v1/ping? HTTP/1.1\r\nHost: ${host}\r\n${bearer()}Connection: close\r\n\r\n`);
      expect(answer.status, host).toBe(200);
    }
    const old = await exchange(`GET /api/v1/openapi.json HTTP/1.0\r\nHost: 127.0.0.1:${port()}\r\n\r\n`);
    expect(old.status).toBe(200);
  });

  it("CONNECT gets a 405 with Allow and a JSON body, then the connection ends", async () => {
    const api = await exchange(`CONNECT /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${bearer()}\r\n`);
    expect(api.status).toBe(405);
    expect(api.head).toMatch(/\r\nallow: GET, HEAD\r\n/i);
    expect(jsonOf(api.payload)).toEqual({ code: 405, message: "Method CONNECT is not allowed here. Allowed: GET, HEAD.", param: null });
    expect(api.ended).toBe(true);
    const tunnel = await exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(tunnel.status).toBe(405);
    expect(tunnel.head).toMatch(/\r\nallow: GET, HEAD, POST\r\n/i);
    expect(jsonOf(tunnel.payload)).toMatchObject({ code: 405 });
    if (existsSync("/usr/bin/curl") || existsSync("/usr/local/bin/curl")) {
      const { stdout } = await run("curl", ["--silent", "--include", "-X", "CONNECT", "--user", `${readKey}:`, `${origin}/api/v1/ping`]);
      expect(stdout).toMatch(/^HTTP\/1\.1 405 /);
      expect(stdout).toContain('"code":405');
    }
  });

  it("HEAD carries the Content-Length GET's answer has, and no body", async () => {
    for (const path of ["/api/v1/whoami", "/api/v1/api_keys?per_page=2", "/api/v1/openapi.json", "/api/v1/ping?"]) {
      const get = await fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${readKey}` } });
      const body = await get.text();
      const answer = await exchange(`HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${bearer()}Connection: close\r\n\r\n`);
      expect(answer.status, path).toBe(200);
      expect(answer.head, path).toMatch(new RegExp(`\\r\\ncontent-length: ${Buffer.byteLength(body)}\\r\\n`, "i"));
      expect(answer.payload, path).toBe("");
    }
    // A refusal of HEAD names HEAD, and measures its body too.
    const refused = await exchange(`HEAD /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n${bearer()}Connection: close\r\n\r\n`);
    expect(refused.status).toBe(405);
    expect(refused.head).toMatch(/\r\nallow: POST\r\n/i);
    expect(refused.head).toMatch(/\r\ncontent-length: \d+\r\n/i);
    const unauthenticated = await exchange("HEAD /api/v1/whoami? HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.head).toMatch(/\r\ncontent-length: \d+\r\n/i);
  });
});

describe("clients that wait for the challenge are never locked out (the failed-authentication limit)", () => {
  it("curl --anyauth 25 times a minute from one address at the default limit of 20: every call answered 200", async () => {
    // The default limit (20 a minute), counted in memory, on a server of its own.
    const limited = await serveApi({ keyRateLimit: 0, authFailureLimit: 20, counter: null });
    // Far from a minute boundary, so every request below falls in one window of the limit.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_500 - intoWindow));
    try {
      const url = `${limited.origin}/api/v1/ping`;
      // The client's address, as the server in front stamps it (server/http/client-ip.ts).
      const ADDRESS = "192.0.2.77";
      const from = { "x-latchkey-client-ip": ADDRESS };
      const statuses: number[] = [];
      if (existsSync("/usr/bin/curl") || existsSync("/usr/local/bin/curl")) {
        for (let i = 0; i < 25; i++) {
          const { stdout } = await run("curl", [
            ...["--silent", "--output", "/dev/null", "--write-out", "%{http_code}"],
            ...["--header", `x-latchkey-client-ip: ${ADDRESS}`, "--anyauth", "--user", `${readKey}:`, url],
          ]);
          statuses.push(Number(stdout));
        }
      } else {
        // The same exchange by hand: no credentials, the challenge, then the key.
        for (let i = 0; i < 25; i++) {
          const first = await fetch(url, { headers: from });
          expect(first.headers.get("www-authenticate")).toMatch(/^Basic /);
          const basic = `Basic ${Buffer.from(`${readKey}:`).toString("base64")}`;
          statuses.push((await fetch(url, { headers: { ...from, authorization: basic } })).status);
        }
      }
      expect(statuses).toEqual(Array(25).fill(200));
      // Even after 25 challenges, a request without credentials is still the 401 with its challenge.
      const challenged = await fetch(url, { headers: from });
      expect(challenged.status).toBe(401);
      expect(challenged.headers.get("www-authenticate")).toBe(WWW_AUTHENTICATE);
      // A wrong key is still a failed authentication: the 21st in the minute is refused with 429.
      const wrong = { ...from, authorization: `Bearer ${generateApiKey()}` };
      const refusals: number[] = [];
      for (let i = 0; i < 21; i++) refusals.push((await fetch(url, { headers: wrong })).status);
      expect(refusals.slice(0, 20)).toEqual(Array(20).fill(401));
      expect(refusals[20]).toBe(429);
      // And the key itself is still served from that address.
      expect((await fetch(url, { headers: { ...from, authorization: `Bearer ${readKey}` } })).status).toBe(200);
    } finally {
      await limited.close();
    }
  }, 60_000);
});

describe("a typed client generated from the served document", () => {
  const FLOW = `import createClient from "openapi-fetch";
import type { paths } from "./schema";

/** Create, list, patch, verify and delete, through the generated types. */
export async function flow(baseUrl: string, key: string) {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${key}\` } });
  // access_level may be left out (its default is the server's); name may not.
  const created = await client.POST("/api_keys", { body: { name: "typed client key" } });
  if (!created.data) throw new Error("create failed: " + JSON.stringify(created.error));
  const id: string = created.data.id;
  const secret: string = created.data.key;
  const level: "read_only" | "read_write" = created.data.access_level;
  const listed = await client.GET("/api_keys", { params: { query: { per_page: 200 } } });
  const names = (listed.data?.entries ?? []).map((entry) => entry.name);
  const patched = await client.PATCH("/api_keys/{id}", { params: { path: { id } }, body: { name: "typed client key, renamed" } });
  // Regenerate's body is optional, and so is each of its fields.
  const regenerated = await client.POST("/api_keys/{id}/regenerate", { params: { path: { id } }, body: { expires_at: null } });
  const verified = await client.POST("/verify", { body: { key: regenerated.data?.key ?? secret } });
  const code: "valid" | "malformed" | "not_found" | "disabled" | "expired" | "rate_limited" | undefined = verified.data?.code;
  const deleted = await client.DELETE("/api_keys/{id}", { params: { path: { id } } });
  const gone = await client.GET("/api_keys/{id}", { params: { path: { id } } });
  return {
    level,
    names,
    patchedName: patched.data?.name,
    code,
    holder: verified.data?.user?.name,
    deletedStatus: deleted.response.status,
    goneStatus: gone.response.status,
    goneError: gone.error,
  };
}

// What the generated types must refuse (tsc fails on an unused @ts-expect-error).
export function refused(client: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error name is required
  void client.POST("/api_keys", { body: { access_level: "read_only" } });
  // @ts-expect-error access_level is one of two values
  void client.POST("/api_keys", { body: { name: "x", access_level: "admin" } });
  // @ts-expect-error status is active or disabled
  void client.PATCH("/api_keys/{id}", { params: { path: { id: "x" } }, body: { status: "gone" } });
  // @ts-expect-error no such path
  void client.GET("/api_keyz");
}
`;

  beforeAll(async () => {
    await rm(GENERATED, { recursive: true, force: true });
    await mkdir(GENERATED, { recursive: true });
  });
  afterAll(() => rm(GENERATED, { recursive: true, force: true }));

  it("generates, type-checks a flow (create, list, patch, verify, delete) and runs it against the server", async () => {
    const served = (await (await fetch(`${origin}/api/v1/openapi.json`)).json()) as Json;
    const types = astToString(await openapiTS(served as never));
    expect(types).toContain("export interface paths");
    await writeFile(path.join(GENERATED, "schema.d.ts"), types);
    await writeFile(path.join(GENERATED, "flow.ts"), FLOW);
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "--skipLibCheck"];
    const checked = await run(process.execPath, [tsc, ...args, path.join(GENERATED, "flow.ts")], { cwd: ROOT }).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe("");

    const { flow } = (await import(pathToFileURL(path.join(GENERATED, "flow.ts")).href)) as {
      flow: (baseUrl: string, key: string) => Promise<Record<string, unknown>>;
    };
    const result = await flow(`${origin}/api/v1`, writeKey);
    expect(result).toMatchObject({
      level: "read_only",
      patchedName: "typed client key, renamed",
      code: "valid",
      holder: "Contract Admin",
      deletedStatus: 204,
      goneStatus: 404,
      goneError: { code: 404, param: null },
    });
    expect(result.names).toContain("typed client key");
  });
});
