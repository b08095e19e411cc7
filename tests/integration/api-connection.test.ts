/**
 * What a client's connection sees when the server refuses a request before or while reading it:
 * a body over the limit (413) and headers over Node's 16 KB (431). Each answer is the API's JSON
 * error, and a keep-alive client's next request works: the 413 says `Connection: close` (the rest
 * of the body is never read) and the server then closes the socket cleanly.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiRequestListener } from "@/server/api/node";
import { keyCache } from "@/lib/runtime";
import { createApiKey } from "@/lib/keys/service";
import { answerClientErrors } from "@/server/http/client-errors";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";
import { rawExchange } from "../helpers/raw-http";

// One port per vitest project (they run side by side).
const PORT = process.env.TEST_DB === "postgres" ? 3463 : 3462;
let teardown: () => Promise<void>;
let server: Server;
let auth: string;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off");
  const staff = await makeUser("staff");
  const { secret } = await createApiKey(staff, { name: "connection writer", access_level: "read_write" });
  auth = `Basic ${Buffer.from(`${secret}:`).toString("base64")}`;
  server = createServer(createApiRequestListener({ keyRateLimit: 0, authFailureLimit: 0 }));
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.listen(PORT, "127.0.0.1", resolve));
});
afterAll(async () => {
  await new Promise((resolve) => (server.closeAllConnections(), server.close(resolve)));
  await teardown();
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

function send(agent: Agent, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: PORT, method, path, agent, headers: { authorization: auth, ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text, socket: req.socket! }));
    });
    req.on("error", reject);
    if (body !== undefined) {
      req.setHeader("content-type", "application/json");
      req.setHeader("content-length", Buffer.byteLength(body));
      req.end(body);
    } else req.end();
  });
}

const oversized = (bytes: number) => JSON.stringify({ name: "x".repeat(bytes) });

describe("a keep-alive client after a refused body (413)", () => {
  it.each([
    ["just over the limit", 20_000],
    ["far over the limit", 3_000_000],
  ])("%s: the 413 is JSON and says Connection: close, and the next request on the agent works", async (_label, bytes) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await send(agent, "GET", "/api/v1/whoami");
      expect(before.status).toBe(200);
      const refused = await send(agent, "POST", "/api/v1/api_keys", oversized(bytes));
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.body)).toEqual({ code: 413, message: expect.stringContaining("too large"), param: null });
      const keptAlive = refused.headers.connection?.toLowerCase() !== "close";
      const next = await send(agent, "GET", "/api/v1/whoami");
      expect(next.status).toBe(200);
      // Either the connection really stayed usable, or the 413 said it would not be.
      if (keptAlive) expect(next.socket).toBe(refused.socket);
      else expect(refused.headers.connection).toBe("close");
    } finally {
      agent.destroy();
    }
  });

  it("on a raw socket: the server closes the connection cleanly after the 413, having sent all of it", async () => {
    const body = oversized(200_000);
    const { head, payload, ended } = await rawExchange(PORT, (socket) => {
      socket.write(
        `POST /api/v1/api_keys HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: ${auth}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    expect(ended).toBe(true);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.toLowerCase()).toContain("connection: close");
    expect(JSON.parse(payload)).toMatchObject({ code: 413, param: null });
  });

  it("a refused body that is read in full (400) keeps the same connection working", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = await send(agent, "POST", "/api/v1/api_keys", "{not json");
      expect(refused.status).toBe(400);
      expect(refused.headers.connection).not.toBe("close");
      const next = await send(agent, "GET", "/api/v1/whoami");
      expect(next.status).toBe(200);
      expect(next.socket).toBe(refused.socket);
    } finally {
      agent.destroy();
    }
  });
});

describe("headers over 16 KB (431)", () => {
  it("get the API's JSON error with Connection: close, and the next connection works", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = await send(agent, "GET", "/api/v1/whoami", undefined, { "x-padding": "p".repeat(20_000) });
      expect(refused.status).toBe(431);
      expect(refused.headers["content-type"]).toBe("application/json");
      expect(refused.headers.connection).toBe("close");
      expect(JSON.parse(refused.body)).toEqual({ code: 431, message: expect.stringContaining("headers are too large"), param: null });
      expect((await send(agent, "GET", "/api/v1/whoami")).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it("malformed HTTP gets a JSON 400", async () => {
    const { head, payload } = await rawExchange(PORT, (socket) => {
      socket.write("GET /api/v1/ping HTTP/1.1\r\nHost latchkey.test\r\n\r\n");
    });
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(payload)).toMatchObject({ code: 400, param: null });
  });
});
