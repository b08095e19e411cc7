import { STATUS_CODES, type Server } from "node:http";
import type { Duplex } from "node:stream";

/** What Node's HTTP parser refused, as the status and message the client gets. */
function describeClientError(code: string | undefined): [number, string] {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return [431, "The request headers are too large (16 KB at most, the URL included)."];
    case "ERR_HTTP_REQUEST_TIMEOUT":
    case "ERR_HTTP_HEADERS_TIMEOUT":
      return [408, "The request took too long to arrive."];
    default:
      return [400, "The request is not valid HTTP."];
  }
}

/**
 * Requests Node refuses before any handler runs (headers over 16 KB, malformed HTTP) get the same
 * JSON error body as the API, with `Connection: close` (the parser cannot go on after such a
 * request), instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node's own handler: nothing to answer on a reset socket or once a response has begun.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, message] = describeClientError(error.code);
    const body = JSON.stringify({ code: status, message, param: null });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        "Content-Type: application/json\r\n" +
        "Cache-Control: no-store\r\n" +
        "X-Content-Type-Options: nosniff\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        "Connection: close\r\n\r\n" +
        body,
    );
  });
}
