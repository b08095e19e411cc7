import { createServer, STATUS_CODES } from "node:http";
import type { IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { answerClientErrors } from "./client-errors";

/** The JSON error every refusal at this level answers with, in the API's shape. */
function errorBody(status: number, message: string): string {
  return JSON.stringify({ code: status, message, param: null });
}

const ERROR_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

/** A refusal of a request Node parsed: JSON, and the connection closed after it (nothing else is trusted on it). */
export function refuseRequest(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = errorBody(status, message);
  res.writeHead(status, { ...ERROR_HEADERS, ...headers, "Content-Length": Buffer.byteLength(body), Connection: "close" });
  res.end(body);
}

// RFC 3986's host (an IP literal in brackets, or a registered name of unreserved, percent-encoded
// and sub-delimiter characters) and an optional port: what RFC 9110 §7.2 allows in Host.
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{0,5})?$/;

/** Whether a Host value is one: its syntax, and a URL can be built on it (a port within range, no forbidden code point). */
function isValidHost(host: string): boolean {
  if (!HOST_SYNTAX.test(host)) return false;
  try {
    new URL(`http://${host}/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a request's Host cannot be served, or null (RFC 9112 §3.2): an HTTP/1.1 request needs one
 * Host, a valid one; an HTTP/1.0 request may leave it out (no URL is built from what is not
 * there: every part of the server needs one, so it is refused too). More than one Host line is
 * refused: Node keeps the first, a proxy in front may have read another.
 *
 * Clients send the same Host on every request, so the last valid value is remembered and a
 * request bearing it costs one comparison and a look at its few header lines.
 */
export function hostChecker(): (req: IncomingMessage) => string | null {
  let lastValid: string | undefined;
  return (req) => {
    const host = req.headers.host;
    if (!host) return "The request has no Host header.";
    const raw = req.rawHeaders;
    let lines = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === "host") lines++;
    if (lines > 1) return "The request has more than one Host header.";
    if (host === lastValid) return null;
    if (!isValidHost(host)) return "The request's Host header is not a valid host name.";
    lastValid = host;
    return null;
  };
}

/** The methods a path answers, for CONNECT's 405 (the API's routes decide for theirs). */
export type AllowedMethods = (path: string) => string[];

/**
 * CONNECT asks the server to become a tunnel, which Latchkey never is: without a listener Node
 * closes the connection with no answer at all. It gets a 405 with `Allow`, JSON like every
 * other error, and the connection ends (a CONNECT's socket is handed over raw).
 */
function answerConnect(allowed: AllowedMethods) {
  return (req: IncomingMessage, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const path = req.url?.startsWith("/") ? req.url.split("?")[0]! : "";
    const allow = path ? allowed(path) : [];
    const methods = (allow.length ? allow : ["GET", "HEAD", "POST"]).join(", ");
    const body = errorBody(405, `Method CONNECT is not allowed here. Allowed: ${methods}.`);
    const headers = { ...ERROR_HEADERS, Allow: methods, "Content-Length": String(Buffer.byteLength(body)), Connection: "close" };
    socket.end(
      `HTTP/1.1 405 ${STATUS_CODES[405]}\r\n` +
        Object.entries(headers)
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join("") +
        "\r\n" +
        body,
    );
  };
}

/**
 * Latchkey's HTTP server around a request listener: a Host is checked before the listener sees
 * the request (400 JSON, not a 500 from deeper down); what Node's parser refuses (431, 400, 408)
 * and CONNECT (405) are answered in JSON too; keep-alive outlasts common load balancers' idle
 * timeout.
 */
export function createHttpServer(
  listener: RequestListener,
  options: {
    allowedMethods: AllowedMethods;
    /** Node's own timeouts (tests shorten them to see a 408). */
    timeouts?: Pick<ServerOptions, "headersTimeout" | "requestTimeout" | "connectionsCheckingInterval">;
  },
): Server {
  const hostProblem = hostChecker();
  // Node's own check answers an HTTP/1.1 request without Host with an empty 400; ours says why, in JSON.
  const server = createServer({ ...options.timeouts, requireHostHeader: false }, (req, res) => {
    const problem = hostProblem(req);
    if (problem) refuseRequest(res, 400, problem);
    else listener(req, res);
  });
  server.keepAliveTimeout = 65_000;
  answerClientErrors(server);
  server.on("connect", answerConnect(options.allowedMethods));
  return server;
}
