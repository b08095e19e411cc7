import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { API_BASE, createApiApp, type ApiAppOptions } from "./app";

/** Whether a raw request path belongs to the REST API (and so never goes through Next.js). */
export function isApiPath(url: string | undefined): boolean {
  if (!url || !url.startsWith(API_BASE)) return false;
  const next = url.charCodeAt(API_BASE.length);
  // End of string, "/" or "?": /api/v1, /api/v1/..., /api/v1?...
  return Number.isNaN(next) || next === 47 || next === 63;
}

const FALLBACK_ERROR = JSON.stringify({ code: 500, message: "Internal server error.", param: null });

/**
 * The REST API as a plain Node request listener: requests go straight from node:http to the Hono
 * app, without Next.js's router in between (that is most of the API's speed).
 */
export function createApiRequestListener(options: ApiAppOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApiApp(options);
  const listener = getRequestListener(app.fetch, {
    // Only reached if the app itself failed to produce a response; still JSON, never a stack.
    errorHandler: (error) => {
      console.error("[latchkey] API adapter error", error);
      return new Response(FALLBACK_ERROR, { status: 500, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } });
    },
  });
  return (req, res) => void listener(req, res);
}
