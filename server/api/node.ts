import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { clientIpFrom } from "@/lib/auth/client-ip";
import { databaseHealth, DeadlineExceededError } from "@/server/http/database-health";
import { logError } from "@/lib/log";
import { API_BASE, API_HEADERS, createApiApp, verificationBody, withDeadline, zodToApiError, type ApiAppOptions } from "./app";
import { apiSettings } from "@/lib/config/env";
import { ApiError, databaseUnavailable } from "./errors";
import { ApiGate, sunsetHeaders } from "./gate";
import { MAX_BODY_BYTES, requireJsonObject, tooLarge } from "./middleware";
import { verifyRequest } from "./schemas";

/** Whether a raw request path belongs to the REST API (and so never goes through Next.js). */
export function isApiPath(url: string | undefined): boolean {
  if (!url || !url.startsWith(API_BASE)) return false;
  const next = url.charCodeAt(API_BASE.length);
  // End of string, "/" or "?": /api/v1, /api/v1/..., /api/v1?...
  return Number.isNaN(next) || next === 47 || next === 63;
}

const FALLBACK_ERROR = JSON.stringify({ code: 500, message: "Internal server error.", param: null });
const PING_PATH = `${API_BASE}/ping`;
const VERIFY_PATH = `${API_BASE}/verify`;
const PONG = JSON.stringify({ data: "pong!" });
const JSON_HEADERS = { "Content-Type": "application/json", ...API_HEADERS };

function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  res.writeHead(status, { ...JSON_HEADERS, ...extra, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Whether a request carries a body (its headers say so); the fast paths take none that they do not read. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** The request's body as text, at most MAX_BODY_BYTES (413 past it, as the framework's limit answers). */
async function readBody(req: IncomingMessage): Promise<string> {
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The REST API as a plain Node request listener: requests go straight from node:http to the Hono
 * app, without Next.js's router in between (that is most of the API's speed).
 *
 * `GET /api/v1/ping` without a query string, the call other services make to check a key, skips
 * even the framework: it goes through the very same gate as every route (key, verification
 * cache, rate limits, errors) and answers a constant. Any other request, HEAD or a query string
 * included, takes the Hono app.
 */
export function createApiRequestListener(options: ApiAppOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const gate = options.gate ?? new ApiGate(options);
  const health = options.health ?? databaseHealth();
  const deadlineMs = options.deadlineMs ?? apiSettings().deadlineMs;
  const app = createApiApp({ ...options, gate, health, deadlineMs });
  const listener = getRequestListener(app.fetch, {
    // Only reached if the app itself failed to produce a response; still JSON, never a stack.
    errorHandler: (error) => {
      logError("API adapter error", error);
      return new Response(FALLBACK_ERROR, { status: 500, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
    },
  });

  async function ping(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await answer(res, async () => {
      const { found } = await gate.admit(req.headers.authorization, PING_PATH, clientIpFrom(req.headers));
      send(res, 200, PONG, sunsetHeaders(found));
    });
  }

  async function verify(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await answer(res, async () => {
      const ip = clientIpFrom(req.headers);
      const { found } = await gate.admit(req.headers.authorization, VERIFY_PATH, ip);
      const parsed = verifyRequest.safeParse(JSON.parse(requireJsonObject(await readBody(req))));
      if (!parsed.success) throw zodToApiError(parsed.error, "json");
      const check = await gate.verify(parsed.data.key, ip);
      send(res, 200, JSON.stringify(verificationBody(check)), sunsetHeaders(found));
    });
  }

  /** Runs a fast path's work within the deadline, answering its refusals as the framework would. */
  async function answer(res: ServerResponse, work: () => Promise<void>): Promise<void> {
    try {
      if (!health.available) throw databaseUnavailable();
      await withDeadline(work(), deadlineMs);
    } catch (error) {
      const refusal =
        error instanceof ApiError
          ? error
          : error instanceof DeadlineExceededError || health.report(error)
            ? databaseUnavailable()
            : undefined;
      if (refusal) send(res, refusal.status, JSON.stringify(refusal.body()), refusal.headers);
      else {
        logError("API error", error);
        send(res, 500, FALLBACK_ERROR);
      }
    }
  }

  return (req, res) => {
    if (options.clientIp) void listener(req, res);
    else if (req.method === "GET" && req.url === PING_PATH && !hasBody(req)) void ping(req, res);
    else if (req.method === "POST" && req.url === VERIFY_PATH) void verify(req, res);
    else void listener(req, res);
  };
}
