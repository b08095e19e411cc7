/**
 * The server-action guard (server/http/server-actions.ts) in a real HTTP server, in front of a stand-in
 * for Next.js that records what it was handed, and the wrapper every action goes through
 * (lib/safe-action.ts) with what the guard lets through. e2e/server-actions.spec.ts runs the same
 * requests against the production build.
 */
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { getActor } from "@/lib/auth/session";
import { BAD_REQUEST_STATE, typedActionWithActor, validatedAction, validatedActionWithActor, type ActionState } from "@/lib/safe-action";
import { createServerActionGuard, SERVER_ACTION_BODY_LIMIT } from "@/server/http/server-actions";

vi.mock("@/lib/auth/session", () => ({ getActor: vi.fn() }));

const ACTION_ID = "7f3a9c0d1e2b4a5968778695a4b3c2d1e0f9a8b7c6";
const logged: string[] = [];
const handed: { method?: string; url?: string; headers: IncomingMessage["headers"]; body: Buffer }[] = [];
let server: http.Server;
let port: number;
let publicUrl: string | undefined;
let actionIds: Set<string> | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const guard = createServerActionGuard({ publicUrl, actionIds, log: (line) => logged.push(line) });
    guard(req, res, (request) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        handed.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("next");
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterEach(() => {
  logged.length = 0;
  handed.length = 0;
  publicUrl = undefined;
  actionIds = undefined;
});

interface Sent {
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body in chunks without a Content-Length. */
  chunked?: boolean;
  agent?: http.Agent;
}

function send({ path = "/profile", headers = {}, body, chunked, agent }: Sent) {
  return new Promise<{ status: number; headers: IncomingMessage["headers"]; text: string }>((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request({
      host: "127.0.0.1",
      port,
      path,
      method: "POST",
      agent: agent ?? false,
      headers: { host: `127.0.0.1:${port}`, ...headers, ...(data && !chunked ? { "content-length": String(data.length) } : {}) },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (data && chunked) {
      for (let i = 0; i < data.length; i += 64 * 1024) req.write(data.subarray(i, i + 64 * 1024));
    } else if (data) req.write(data);
    req.end();
  });
}

const origin = () => `http://127.0.0.1:${port}`;
const action = (extra: Record<string, string> = {}) => ({ "next-action": ACTION_ID, origin: origin(), ...extra });

/** A multipart body as React encodes `action(state, formData)`: "0" is the argument list. */
function multipart(fields: [string, string][]) {
  const boundary = "----LatchkeyBoundaryAbCdEf";
  const parts = fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return { body: `${parts.join("")}--${boundary}--\r\n`, type: `multipart/form-data; boundary=${boundary}` };
}
/** A typed call as React encodes `action({ id, status })`: a text body, the argument list itself. */
const typedCall = JSON.stringify([
  { id: "0b6c3a52-4f6e-4c1e-9d3a-2f1e0c9b8a7d", status: "disabled", note: "$$not a reference", at: "$D2026-01-02T03:04:05.000Z" },
]);
const TEXT = "text/plain;charset=UTF-8";
const validCall = multipart([
  ["_1_name", "Billing sync"],
  ["_1_access_level", "read_only"],
  ["0", JSON.stringify([{ ok: false, message: "Enter a name.", fieldErrors: { name: ["Enter a name."] } }, "$K1"])],
]);

function expectOneLine(status: number) {
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatch(new RegExp(`^\\[latchkey\\] server action refused: ${status} `));
  expect(logged[0]).not.toMatch(/\n|at .*\(.*\)/);
}

describe("requests that are not server actions", () => {
  it("are handed on untouched: a GET, a url-encoded POST (sign-in), a POST without an action header", async () => {
    await new Promise<void>((resolve, reject) =>
      http.get(`${origin()}/sign-in`, (res) => res.resume().on("end", resolve)).on("error", reject),
    );
    const form = "csrfToken=x&email=a%40b.test";
    expect(
      (
        await send({
          path: "/api/auth/callback/credentials",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://elsewhere.test" },
          body: form,
        })
      ).status,
    ).toBe(200);
    expect((await send({ headers: { "content-type": "text/plain" }, body: "[]" })).status).toBe(200);
    expect(handed.map((h) => [h.method, h.url, h.body.toString()])).toEqual([
      ["GET", "/sign-in", ""],
      ["POST", "/api/auth/callback/credentials", form],
      ["POST", "/profile", "[]"],
    ]);
    expect(logged).toEqual([]);
  });
});

describe("a well-formed action", () => {
  it("is handed on with the same method, URL, headers and body bytes", async () => {
    const res = await send({ headers: action({ "content-type": validCall.type, "x-extra": "1" }), body: validCall.body });
    expect(res.status).toBe(200);
    expect(handed).toHaveLength(1);
    expect(handed[0]!.body.toString()).toBe(validCall.body);
    expect(handed[0]).toMatchObject({
      method: "POST",
      url: "/profile",
      headers: { "next-action": ACTION_ID, "content-type": validCall.type, "x-extra": "1" },
    });
    expect(logged).toEqual([]);
  });

  it("a typed call (one object, a text body) is handed on with the same body bytes", async () => {
    const res = await send({ headers: action({ "content-type": TEXT }), body: typedCall });
    expect(res.status).toBe(200);
    expect(handed.map((h) => h.body.toString())).toEqual([typedCall]);
    expect(logged).toEqual([]);
  });

  it("is handed on when sent chunked, and without an Origin header (not a browser), and with a matching X-Forwarded-Host", async () => {
    expect((await send({ headers: action({ "content-type": validCall.type }), body: validCall.body, chunked: true })).status).toBe(200);
    expect((await send({ headers: { "next-action": ACTION_ID, "content-type": validCall.type }, body: validCall.body })).status).toBe(200);
    const proxied = { origin: "https://keys.example.test", "x-forwarded-host": "keys.example.test", "content-type": validCall.type };
    expect((await send({ headers: action(proxied), body: validCall.body })).status).toBe(200);
    expect(handed.map((h) => h.body.toString())).toEqual([validCall.body, validCall.body, validCall.body]);
  });

  it("is handed on just under the body limit", async () => {
    const filler = "x".repeat(SERVER_ACTION_BODY_LIMIT - 1000);
    const call = multipart([
      ["0", '[null,"$K1"]'],
      ["_1_name", filler],
    ]);
    expect((await send({ headers: action({ "content-type": call.type }), body: call.body })).status).toBe(200);
  });

  it("a form posted before JavaScript ran, with its state bound ($ACTION_REF_)", async () => {
    const form = multipart([
      ["$ACTION_REF_1", ""],
      ["$ACTION_1:0", JSON.stringify({ id: ACTION_ID, bound: "$@1" })],
      ["$ACTION_1:1", "[null]"],
      ["$ACTION_KEY", "k1"],
      ["email", "a@b.test"],
    ]);
    expect((await send({ headers: { origin: origin(), "content-type": form.type }, body: form.body })).status).toBe(200);
    expect(handed).toHaveLength(1);
  });
});

describe("refused", () => {
  it.each([
    ["another site", { origin: "http://evil.test" }],
    ["another port", { origin: "http://127.0.0.1:1" }],
    ["an opaque origin", { origin: "null" }],
    ["an unreadable origin", { origin: "not a url" }],
    ["an X-Forwarded-Host that differs from the origin", { "x-forwarded-host": "evil.test" }],
  ])("cross-origin: %s -> 403, one log line, nothing handed on", async (_what, headers) => {
    const res = await send({ headers: action({ "content-type": validCall.type, ...headers }), body: validCall.body });
    expect(res.status).toBe(403);
    expect(res.text).toMatch(/^Forbidden/);
    expect(handed).toEqual([]);
    expectOneLine(403);
  });

  it("an origin other than the public URL (NEXTAUTH_URL) even when Host matches it (DNS rebinding) -> 403", async () => {
    publicUrl = "https://keys.example.test";
    const res = await send({ headers: action({ "content-type": validCall.type }), body: validCall.body });
    expect(res.status).toBe(403);
    expectOneLine(403);
    logged.length = 0;
    const proxied = { origin: "https://keys.example.test", "x-forwarded-host": "keys.example.test", "content-type": validCall.type };
    expect((await send({ headers: action(proxied), body: validCall.body })).status).toBe(200);
  });

  it("a body over the limit with its Content-Length -> 413 with Connection: close", async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, "a");
    const res = await send({ headers: action({ "content-type": "text/plain;charset=UTF-8" }), body });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe("close");
    expect(handed).toEqual([]);
    expectOneLine(413);
  });

  it("a chunked body over the limit -> 413 with Connection: close", async () => {
    const big = multipart([
      ["0", '[null,"$K1"]'],
      ["_1_name", "x".repeat(3 * 1024 * 1024)],
    ]);
    const res = await send({ headers: action({ "content-type": big.type }), body: big.body, chunked: true });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe("close");
    expect(handed).toEqual([]);
    expectOneLine(413);
  });

  it.each([
    ["[]"],
    ["{}"],
    ["[null,null]"],
    ['[null,"$K1"]'],
    ["not json"],
    [""],
    ["[{},{}]"],
    ["[null]"],
    ['["x"]'],
    ["[[]]"],
    ['[{"id":"$1"}]'],
    ['[{"id":"$@1"}]'],
    ['[{"a":["$h1"]}]'],
    ['[{"form":"$K1"}]'],
    [`[{"a":${"[".repeat(40)}${"]".repeat(40)}}]`],
  ])("a text body %j -> 400 (a typed call is one object of plain data)", async (body) => {
    const res = await send({ headers: action({ "content-type": TEXT }), body });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^Bad request/);
    expect(handed).toEqual([]);
    expectOneLine(400);
  });

  it.each([
    ["no field 0", [["_1_name", "x"]]],
    ["an empty argument list", [["0", "[]"]]],
    ["an object", [["0", "{}"]]],
    ["[null,null]", [["0", "[null,null]"]]],
    ["one argument", [["0", '["$K1"]']]],
    ["three arguments", [["0", '[null,"$K1",null]']]],
    ["a string where the form goes", [["0", '[null,"name"]']]],
    ["a reference to another part as the state", [["0", '["$1","$K1"]']]],
    ["a promise as the state", [["0", '["$@2","$K1"]']]],
    ["a server reference inside the state", [["0", '[{"a":["$h3"]},"$K1"]']]],
    ["state nested too deep", [["0", `[${"[".repeat(40)}${"]".repeat(40)},"$K1"]`]]],
    ["invalid JSON", [["0", "[null,"]]],
  ] as [string, [string, string][]][])("a multipart body with %s -> 400", async (_what, fields) => {
    const call = multipart(fields);
    const res = await send({ headers: action({ "content-type": call.type }), body: call.body });
    expect(res.status).toBe(400);
    expect(handed).toEqual([]);
    expectOneLine(400);
  });

  it("a multipart post to a page that names no action -> 400 (as Next.js answers, without its stack)", async () => {
    const plain = multipart([["email", "a@b.test"]]);
    expect((await send({ headers: { origin: origin(), "content-type": plain.type }, body: plain.body })).status).toBe(400);
    expect(handed).toEqual([]);
    expectOneLine(400);
  });

  it("an action id the build does not have -> 409 (400 when not shaped like one) with Next.js's not-found header", async () => {
    actionIds = new Set([ACTION_ID]);
    const unknown = await send({
      headers: action({ "content-type": validCall.type, "next-action": "7f" + "0".repeat(40) }),
      body: validCall.body,
    });
    expect(unknown.status).toBe(409);
    expect(unknown.headers["x-nextjs-action-not-found"]).toBe("1");
    const malformed = await send({ headers: action({ "content-type": validCall.type, "next-action": "zzz" }), body: validCall.body });
    expect(malformed.status).toBe(400);
    expect(malformed.headers["x-nextjs-action-not-found"]).toBe("1");
    const form = multipart([
      ["$ACTION_REF_1", ""],
      ["$ACTION_1:0", JSON.stringify({ id: "7f" + "1".repeat(40), bound: "$@1" })],
      ["$ACTION_1:1", "[null]"],
    ]);
    expect((await send({ headers: { origin: origin(), "content-type": form.type }, body: form.body })).status).toBe(409);
    expect(handed).toEqual([]);
    expect(logged).toHaveLength(3);
    // A known id goes on.
    expect((await send({ headers: action({ "content-type": validCall.type }), body: validCall.body })).status).toBe(200);
  });

  it("logs no query and no path past the page's first segment (an invite's token)", async () => {
    const res = await send({
      path: "/invite/secret-invite-token-0123456789?x=secret-query",
      headers: action({ "content-type": "text/plain" }),
      body: "[]",
    });
    expect(res.status).toBe(400);
    expectOneLine(400);
    expect(logged[0]).toContain("POST /invite/...");
    expect(logged[0]).not.toContain("secret");
  });

  it("an unreadable multipart body -> 400", async () => {
    const res = await send({ headers: action({ "content-type": "multipart/form-data; boundary=abc" }), body: "--abc\r\nnonsense" });
    expect(res.status).toBe(400);
    expectOneLine(400);
  });

  it.each([
    [
      "an action called with the form alone ($ACTION_ID_)",
      [
        [`$ACTION_ID_${ACTION_ID}`, ""],
        ["name", "x"],
      ],
    ],
    [
      "malformed action metadata",
      [
        ["$ACTION_REF_1", ""],
        ["$ACTION_1:0", "{"],
      ],
    ],
    [
      "metadata without bound arguments",
      [
        ["$ACTION_REF_1", ""],
        ["$ACTION_1:0", JSON.stringify({ id: ACTION_ID, bound: null })],
      ],
    ],
    [
      "a bound list that is not [state]",
      [
        ["$ACTION_REF_1", ""],
        ["$ACTION_1:0", JSON.stringify({ id: ACTION_ID, bound: "$@1" })],
        ["$ACTION_1:1", "[]"],
      ],
    ],
  ] as [string, [string, string][]][])("a form post with %s -> 400", async (_what, fields) => {
    const form = multipart(fields);
    const res = await send({ headers: { origin: origin(), "content-type": form.type }, body: form.body });
    expect(res.status).toBe(400);
    expect(handed).toEqual([]);
    expectOneLine(400);
  });

  it("keeps a keep-alive connection usable after a 400 and a 403", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await send({ agent, headers: action({ "content-type": "text/plain" }), body: "[]" })).status).toBe(400);
      expect(
        (await send({ agent, headers: action({ "content-type": validCall.type, origin: "http://evil.test" }), body: validCall.body }))
          .status,
      ).toBe(403);
      expect((await send({ agent, headers: action({ "content-type": validCall.type }), body: validCall.body })).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The wrapper (lib/safe-action.ts): what the guard lets through still has to be what the action takes.

describe("the action wrapper", () => {
  const actor = { userId: "0b6c3a52-4f6e-4c1e-9d3a-2f1e0c9b8a7d", role: "staff" } as Actor;
  const schema = z.object({ id: z.uuid("That is not a valid id."), status: z.enum(["active", "disabled"]) });
  const ran = vi.fn(async (input: z.infer<typeof schema>) => ({ ok: true as const, data: input }));
  const typed = typedActionWithActor(schema, ran);
  const form = validatedActionWithActor(schema, ran);
  const anonymous = validatedAction(schema, ran);
  /** Called as React would with whatever a request body decoded to. */
  const call = (action: unknown, ...args: unknown[]) => (action as (...a: unknown[]) => Promise<ActionState<unknown>>)(...args);
  const good = { id: actor.userId, status: "disabled" };
  const goodForm = () => {
    const data = new FormData();
    data.set("id", good.id);
    data.set("status", good.status);
    return data;
  };

  afterEach(() => {
    ran.mockClear();
    vi.mocked(getActor).mockReset();
  });

  it("a typed action runs with the parsed object; a form action with the parsed form", async () => {
    vi.mocked(getActor).mockResolvedValue(actor);
    expect(await typed({ ...good, extra: "dropped" } as z.input<typeof schema>)).toEqual({ ok: true, data: good });
    expect(await form(null, goodForm())).toEqual({ ok: true, data: good });
    expect(await anonymous(null, goodForm())).toEqual({ ok: true, data: good });
    expect(ran).toHaveBeenCalledTimes(3);
  });

  it.each([
    ["a form", [goodForm()]],
    ["(state, form)", [null, goodForm()]],
    ["two objects", [good, good]],
    ["no argument", []],
    ["null", [null]],
    ["a list", [[good]]],
    ["a string", [JSON.stringify(good)]],
    ["a class instance", [new URLSearchParams(good)]],
    ["a Date", [new Date()]],
  ])("a typed action called with %s is refused and runs nothing", async (_what, args) => {
    vi.mocked(getActor).mockResolvedValue(actor);
    expect(await call(typed, ...args)).toEqual(BAD_REQUEST_STATE);
    expect(ran).not.toHaveBeenCalled();
  });

  it.each([
    ["an object", [null, good]],
    ["the object alone", [good]],
    ["the form alone", [goodForm()]],
    ["three arguments", [null, goodForm(), null]],
    ["no argument", []],
  ])("a form action called with %s is refused and runs nothing", async (_what, args) => {
    vi.mocked(getActor).mockResolvedValue(actor);
    expect(await call(form, ...args)).toEqual(BAD_REQUEST_STATE);
    expect(await call(anonymous, ...args)).toEqual(BAD_REQUEST_STATE);
    expect(ran).not.toHaveBeenCalled();
  });

  it("an object that does not parse with the schema is refused with the schema's message", async () => {
    vi.mocked(getActor).mockResolvedValue(actor);
    expect(await call(typed, { id: "1,2", status: "disabled" })).toMatchObject({
      ok: false,
      message: "That is not a valid id.",
      fieldErrors: { id: ["That is not a valid id."] },
    });
    expect(await call(typed, { id: good.id, status: "deleted" })).toMatchObject({
      ok: false,
      fieldErrors: { status: [expect.any(String)] },
    });
    expect(await call(typed, {})).toMatchObject({ ok: false });
    expect(ran).not.toHaveBeenCalled();
  });

  it("without a session nothing runs, whatever the arguments", async () => {
    vi.mocked(getActor).mockResolvedValue(null);
    expect(await typed(good as z.input<typeof schema>)).toEqual({ ok: false, message: "Your session has ended. Sign in again." });
    expect(await form(null, goodForm())).toEqual({ ok: false, message: "Your session has ended. Sign in again." });
    expect(ran).not.toHaveBeenCalled();
  });
});
