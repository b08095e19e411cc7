import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, RequestError } from "@hono/node-server";
import { clientIpFrom } from "@/lib/auth/client-ip";
import { createAnswerBatch } from "@/server/http/answer-batch";
import { databaseHealth, DeadlineExceededError } from "@/server/http/database-health";
import { listOwnApiKeysPage, type AuthenticatedKey } from "@/lib/keys/service";
import { logError } from "@/lib/log";
import { whenReady, type MaybePromise } from "@/lib/maybe-promise";
import {
  API_BASE,
  API_HEADERS,
  createApiApp,
  DEFAULT_PER_PAGE,
  headAsGet,
  keyListBody,
  verificationBody,
  whoamiBody,
  withDeadline,
  zodToApiError,
  type ApiAppOptions,
} from "./app";
import { apiSettings } from "@/lib/config/env";
import { ApiError, databaseUnavailable } from "./errors";
import { ApiGate, sunsetHeaders, type Admitted, type KeyCheck } from "./gate";
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
const WHOAMI_PATH = `${API_BASE}/whoami`;
const VERIFY_PATH = `${API_BASE}/verify`;
const KEYS_PATH = `${API_BASE}/api_keys`;
const PONG = JSON.stringify({ data: "pong!" });
/** Every JSON answer's headers, as the flat name-value list writeHead takes (no object built per answer). */
const JSON_HEADERS: readonly string[] = Object.entries({ "Content-Type": "application/json", ...API_HEADERS }).flat();

/** The fast paths' answers go out together, once per turn of the event loop (answer-batch.ts). */
const answers = createAnswerBatch();

function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string> | readonly string[]): void {
  const headers: (string | number)[] = JSON_HEADERS.slice();
  if (Array.isArray(extra)) headers.push(...(extra as readonly string[]));
  else if (extra) for (const [name, value] of Object.entries(extra)) headers.push(name, value);
  headers.push("Content-Length", Buffer.byteLength(body));
  answers.send(res, status, headers, body);
}

/** A 200 for the key the gate admitted: with `Sunset` when it was a regenerated key's previous secret. */
function sendFor(res: ServerResponse, { found }: Admitted, body: string): void {
  send(res, 200, body, found.sunset ? sunsetHeaders(found) : undefined);
}

/** Whether a request carries a body (its headers say so); the fast paths take none that they do not read. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * The request's body as text, at most MAX_BODY_BYTES (413 past it, as the framework's limit
 * answers; the rest is read and dropped, so the 413 still reaches the client).
 */
function readBody(req: IncomingMessage): Promise<string> {
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  // A small body arrives with the headers: by the time a microtask runs, the HTTP parser has
  // buffered all of it (though it has not yet marked the request complete). Take it from there,
  // without a stream event.
  return Promise.resolve(req).then(bufferedBody);
}

function bufferedBody(req: IncomingMessage): string | Promise<string> {
  const length = req.headers["transfer-encoding"] === undefined ? Number(req.headers["content-length"] ?? 0) : Number.NaN;
  const whole = req.complete ? req.readableLength <= MAX_BODY_BYTES : length > 0 && req.readableLength === length;
  if (req.readableFlowing === null && whole) {
    const buffered = req.read() as Buffer | null;
    return buffered ? buffered.toString("utf8") : "";
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(tooLarge());
      else chunks.push(chunk);
    });
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}

/**
 * The REST API as a plain Node request listener: requests go straight from node:http to the Hono
 * app, without Next.js's router in between (that is most of the API's speed).
 *
 * The calls other services make most skip even the framework: `GET /api/v1/ping` and
 * `GET /api/v1/whoami` without a query string or body, and `POST /api/v1/verify`. They go through
 * the very same gate as every route (key, verification cache, rate limits, errors) and answer as
 * the framework would. When the gate answers from memory (a cached key, nothing to write, limits
 * counted in memory) they answer synchronously: no promise, no timer. Any other request, HEAD or
 * a query string included, takes the Hono app.
 */
export function createApiRequestListener(options: ApiAppOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const gate = options.gate ?? new ApiGate(options);
  const health = options.health ?? databaseHealth();
  const deadlineMs = options.deadlineMs ?? apiSettings().deadlineMs;
  const app = createApiApp({ ...options, gate, health, deadlineMs });
  const listener = getRequestListener(withHeadLength(app.fetch), {
    // Reached when the adapter could not make a Request of what arrived (a Host or target no URL
    // can be built on: 400, the client's fault), or the app itself failed to answer (500); JSON
    // either way, never a stack.
    errorHandler: (error) => {
      if (error instanceof RequestError) {
        return new Response(JSON.stringify({ code: 400, message: requestErrorMessage(error), param: null }), {
          status: 400,
          headers: { "Content-Type": "application/json", ...API_HEADERS, Connection: "close" },
        });
      }
      logError("API adapter error", error);
      return new Response(FALLBACK_ERROR, { status: 500, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
    },
  });

  function admit(req: IncomingMessage, path: string): MaybePromise<Admitted> {
    return gate.admit(req.headers.authorization, path, clientIpFrom(req.headers));
  }

  /** A key-only endpoint (no body): the gate's answer, then `body` of the key it admitted. */
  function keyOnly(req: IncomingMessage, res: ServerResponse, path: string, body: (found: AuthenticatedKey) => string): void {
    fast(res, () => whenReady(admit(req, path), (admitted) => sendFor(res, admitted, body(admitted.found))));
  }

  /** GET /api_keys's first page (no query string: the default page size, no cursor). */
  function listKeys(req: IncomingMessage, res: ServerResponse): void {
    fast(res, () =>
      whenReady(admit(req, KEYS_PATH), async (admitted) => {
        const page = await listOwnApiKeysPage(admitted.actor, { limit: DEFAULT_PER_PAGE });
        sendFor(res, admitted, JSON.stringify(keyListBody(page)));
      }),
    );
  }

  function verify(req: IncomingMessage, res: ServerResponse): void {
    fast(res, () => whenReady(admit(req, VERIFY_PATH), (admitted) => readBody(req).then((text) => verifyBody(res, admitted, text))));
  }

  /** POST /verify's body, checked: the key it names, verified for the caller `admitted`. */
  function verifyBody(res: ServerResponse, admitted: Admitted, text: string): MaybePromise<void> {
    const parsed = verifyRequest.safeParse(requireJsonObject(text));
    if (!parsed.success) throw zodToApiError(parsed.error, "json");
    return whenReady(gate.verify(parsed.data.key, admitted.ip), (check) => sendFor(res, admitted, verificationJson(check)));
  }

  /**
   * Runs a fast path's work: synchronously when it can finish now; what must wait runs within
   * the deadline. Refusals are answered as the framework answers them.
   */
  function fast(res: ServerResponse, work: () => MaybePromise<void>): void {
    let pending: MaybePromise<void>;
    try {
      if (!health.available) throw databaseUnavailable();
      pending = work();
    } catch (error) {
      refuse(res, error);
      return;
    }
    // The framework's deadline: past it a 503 goes out, and a late answer is dropped (send). A late
    // failure is still seen: a database that is down opens the breaker, anything else is logged.
    if (pending instanceof Promise) {
      const answer = (error: unknown) => refuse(res, error);
      withDeadline(pending, deadlineMs, answer).catch(answer);
    }
  }

  function refuse(res: ServerResponse, error: unknown): void {
    const refusal =
      error instanceof ApiError
        ? error
        : error instanceof DeadlineExceededError || health.report(error)
          ? databaseUnavailable()
          : undefined;
    if (refusal) send(res, refusal.status, refusal.json(), refusal.headerList());
    else {
      logError("API error", error);
      send(res, 500, FALLBACK_ERROR);
    }
  }

  return (req, res) => {
    if (options.clientIp) void listener(req, res);
    else if (req.method === "GET" && req.url === PING_PATH && !hasBody(req)) keyOnly(req, res, PING_PATH, pingBody);
    else if (req.method === "GET" && req.url === WHOAMI_PATH && !hasBody(req)) keyOnly(req, res, WHOAMI_PATH, whoamiJson);
    else if (req.method === "GET" && req.url === KEYS_PATH && !hasBody(req)) listKeys(req, res);
    else if (req.method === "POST" && req.url === VERIFY_PATH) verify(req, res);
    else void listener(req, res);
  };
}

/** What the adapter refused a request for, in the API's words. */
function requestErrorMessage(error: RequestError): string {
  if (/host/i.test(error.message)) return "The request's Host header is missing or not a valid host name.";
  return "The request's target is not a valid URL.";
}

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

/**
 * HEAD answers with GET's headers and no body (the framework's rule), and with the
 * Content-Length GET's answer would carry (RFC 9110 §9.3.2), which the framework leaves out: the
 * JSON answer is made as for GET and measured. A streamed answer (a CSV export) has no length
 * for GET either, and is not made only to be measured.
 */
function withHeadLength<F extends Fetch>(fetch: F): F {
  return (async (request: Request, ...rest: never[]) => {
    if (request.method !== "HEAD") return fetch(request, ...rest);
    const answer = await fetch(headAsGet(request), ...rest);
    const headers = new Headers(answer.headers);
    if (headers.get("content-type")?.startsWith("application/json")) {
      headers.set("Content-Length", String(Buffer.byteLength(await answer.text())));
    } else await answer.body?.cancel();
    return new Response(null, { status: answer.status, headers });
  }) as F;
}

const pingBody = () => PONG;

/**
 * A verified key's JSON answers, made once: the verification cache hands out one object per key
 * until the key changes (a change replaces it), so the answers are kept beside that object and go
 * with it. whoami's also shows the key's last use, kept to the minute: it is made again when that
 * moves.
 */
interface KeyAnswers {
  lastUsedAt: Date | null;
  whoami: string | undefined;
  verified: string | undefined;
}
const keyAnswers = new WeakMap<AuthenticatedKey, KeyAnswers>();

function answersFor(found: AuthenticatedKey): KeyAnswers {
  let answers = keyAnswers.get(found);
  if (answers === undefined) {
    answers = { lastUsedAt: found.key.lastUsedAt, whoami: undefined, verified: undefined };
    keyAnswers.set(found, answers);
  }
  return answers;
}

function whoamiJson(found: AuthenticatedKey): string {
  const answers = answersFor(found);
  if (answers.whoami === undefined || answers.lastUsedAt !== found.key.lastUsedAt) {
    answers.lastUsedAt = found.key.lastUsedAt;
    answers.whoami = JSON.stringify(whoamiBody(found));
  }
  return answers.whoami;
}

function verificationJson(check: KeyCheck): string {
  if (!check.valid) return JSON.stringify(verificationBody(check));
  const answers = answersFor(check.found);
  return (answers.verified ??= JSON.stringify(verificationBody(check)));
}
