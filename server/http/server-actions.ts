import fs from "node:fs";
import { IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";

/**
 * The front door for Next.js server actions, in the custom server before Next.js sees a request.
 *
 * A server action is a `POST <page>` with a `Next-Action: <id>` header (a `fetch` from the page) or
 * a multipart form post carrying `$ACTION_...` fields (a form sent before JavaScript runs). Next.js
 * checks such requests itself, but answers what it refuses with a 500 and a stack trace in the log:
 * a cross-origin post, a body over its 1 MB limit, a body that does not decode into arguments. This
 * guard answers those first, with 403, 413 and 400, a short text body and one log line, and hands
 * Next.js everything else with the body it already read.
 *
 * Every action in this app takes one of two argument lists (lib/safe-action.ts), so a body that
 * decodes into anything else is refused (React 19.2's encoding):
 * - a form action, `(previousState, formData)`: a multipart body whose field "0" is the JSON
 *   argument list `[state, "$K<n>"]`, "$K<n>" naming the FormData whose fields are the parts
 *   "_<n>_<field>";
 * - a typed action, `(input)` with a plain object: a text body that is the JSON argument list
 *   `[{...}]` itself (React sends a text body when no argument needs a part of its own).
 * In both, the values must be plain data: no references to other parts, promises or functions.
 * Which of the two an action takes is the wrapper's check; this one only keeps out what no action
 * here takes.
 */

/** Next.js's default `serverActions.bodySizeLimit` (next.config.ts does not change it). */
export const SERVER_ACTION_BODY_LIMIT = 1024 * 1024;

export interface ServerActionGuardOptions {
  /** The largest body accepted, in bytes (Next.js refuses more itself). */
  bodyLimit?: number;
  /**
   * The app's public URL (NEXTAUTH_URL). When set, an action's Origin must be its host as well as
   * the request's own, so a page on another name that resolves here (DNS rebinding) is refused.
   */
  publicUrl?: string;
  /**
   * The ids of the build's server actions (loadServerActionIds). An unknown id gets the answer
   * Next.js gives (409, or 400 when it is not even shaped like one, with the header that tells an
   * outdated page to reload), without Next.js's stack in the log. Unset: ids are not checked.
   */
  actionIds?: ReadonlySet<string>;
  /** Where a refusal's one line goes. */
  log?: (line: string) => void;
}

export type Refusal = { status: 400 | 403 | 409 | 413; reason: string; unknownAction?: true };

/** Next.js's own answer to an unknown action id, which the page's router understands. */
const UNKNOWN_ACTION_HEADER = "x-nextjs-action-not-found";
const SERVER_REFERENCE_ID_LENGTH = 42;

/**
 * The server action ids of a production build (its server-reference manifest; the build folder
 * as next.config.ts names it, relative to the working directory), or undefined without one.
 */
export function loadServerActionIds(distDir = process.env.LATCHKEY_DIST_DIR ?? ".next"): ReadonlySet<string> | undefined {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(distDir, "server", "server-reference-manifest.json"), "utf8")) as {
      node?: Record<string, unknown>;
      edge?: Record<string, unknown>;
    };
    return new Set([...Object.keys(manifest.node ?? {}), ...Object.keys(manifest.edge ?? {})]);
  } catch {
    return undefined;
  }
}

function unknownAction(id: string): Refusal {
  const refusal =
    id.length === SERVER_REFERENCE_ID_LENGTH
      ? { status: 409 as const, reason: "unknown action id" }
      : { status: 400 as const, reason: "malformed action id" };
  return { ...refusal, unknownAction: true };
}

type HandOn = (req: IncomingMessage) => void;

const TEXT = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };
const ANSWERS: Record<Refusal["status"], string> = {
  400: "Bad request: this is not a valid server action call.\n",
  403: "Forbidden: server actions are only accepted from this site's own pages.\n",
  409: "Server Action unavailable.\n",
  413: "Payload too large.\n",
};
/** The most a refused body is read (and thrown away) before the connection is closed. */
const DRAIN_LIMIT = 16 * 1024 * 1024;
/** How deep an argument list may nest; React's own state objects are a few levels deep. */
const MAX_DEPTH = 32;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Whether Next.js would treat the request as a possible server action (its own test). */
export function isServerActionRequest(req: Pick<IncomingMessage, "method" | "headers">): boolean {
  if (req.method !== "POST") return false;
  if (req.headers["next-action"] !== undefined) return true;
  return (single(req.headers["content-type"]) ?? "").toLowerCase().startsWith("multipart/form-data");
}

function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * The Origin rule. Next.js accepts an action whose Origin host is the request's host (the first
 * X-Forwarded-Host, else Host), and one without Origin (not a browser: it carries no one's cookies
 * unwillingly). This is the same rule, plus the app's public host when one is configured; a request
 * this accepts, Next.js accepts too.
 */
export function checkOrigin(headers: IncomingMessage["headers"], publicUrl?: string): Refusal | null {
  const origin = single(headers.origin);
  if (origin === undefined) return null;
  const originHost = origin === "null" ? null : hostOf(origin);
  if (!originHost) return { status: 403, reason: "unreadable origin" };
  const forwarded = single(headers["x-forwarded-host"])?.split(",")[0]?.trim();
  const host = (forwarded || single(headers.host) || "").toLowerCase();
  if (originHost !== host) return { status: 403, reason: "cross-origin" };
  const publicHost = hostOf(publicUrl);
  if (publicHost && originHost !== publicHost) return { status: 403, reason: "origin is not the public URL" };
  return null;
}

/** A value React decodes as plain data: no references to other parts, promises or functions. */
function isPlainValue(root: unknown): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_DEPTH) return false;
    if (typeof value === "string") {
      if (value.startsWith("$") && !/^\$(\$|undefined$|NaN$|Infinity$|-Infinity$|-0$|D|n-?\d+$)/.test(value)) return false;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
    } else if (value !== null && typeof value === "object") {
      for (const item of Object.values(value)) stack.push([item, depth + 1]);
    }
  }
  return true;
}

function parseJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const FORM_REFERENCE = /^\$K[0-9a-f]+$/;

/** `[state, "$K<n>"]`: the arguments `(previousState, formData)` as React encodes them. */
function isStateAndForm(args: unknown): boolean {
  return Array.isArray(args) && args.length === 2 && typeof args[1] === "string" && FORM_REFERENCE.test(args[1]) && isPlainValue(args[0]);
}

/** `[{...}]`: the argument `(input)` of a typed action, one object of plain data. */
function isOneObject(args: unknown): boolean {
  if (!Array.isArray(args) || args.length !== 1) return false;
  const [input] = args as unknown[];
  return input !== null && typeof input === "object" && !Array.isArray(input) && isPlainValue(input);
}

/**
 * A form posted before JavaScript ran. `$ACTION_ID_<id>` calls the action with the form alone,
 * which no action here takes; `$ACTION_REF_<n>` names the action and its bound arguments in the
 * field `$ACTION_<n>:0` (`{"id", "bound": "$@<m>"}`, the bound list `[state]` in `$ACTION_<n>:<m>`).
 */
function checkFormPost(form: FormData, actionIds: ReadonlySet<string> | undefined): Refusal | null {
  const keys = [...new Set(form.keys())];
  const actionKeys = keys.filter((key) => key.startsWith("$ACTION_REF_") || key.startsWith("$ACTION_ID_"));
  // A multipart post to a page that names no action: Next.js refuses it too (400).
  if (actionKeys.length === 0) return { status: 400, reason: "multipart post without an action" };
  if (actionKeys.length > 1 || !actionKeys[0]!.startsWith("$ACTION_REF_"))
    return { status: 400, reason: "form post without a state argument" };
  const prefix = `$ACTION_${actionKeys[0]!.slice("$ACTION_REF_".length)}:`;
  const meta = parseJson(form.get(`${prefix}0`));
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) return { status: 400, reason: "malformed form post" };
  const { id, bound } = meta as { id?: unknown; bound?: unknown };
  if (typeof id !== "string" || typeof bound !== "string") return { status: 400, reason: "malformed form post" };
  if (actionIds && !actionIds.has(id)) return unknownAction(id);
  const boundRef = /^\$@([0-9a-f]+)$/.exec(bound);
  const boundArgs = boundRef ? parseJson(form.get(`${prefix}${parseInt(boundRef[1]!, 16)}`)) : undefined;
  if (!Array.isArray(boundArgs) || boundArgs.length !== 1 || !isPlainValue(boundArgs[0]))
    return { status: 400, reason: "malformed form post" };
  return null;
}

/**
 * Whether a server action body decodes into arguments this app's actions take. `contentType` is
 * the request's, `fetchAction` whether it carried a `Next-Action` header.
 */
export async function checkServerActionBody(
  contentType: string | undefined,
  body: Buffer,
  fetchAction: boolean,
  actionIds?: ReadonlySet<string>,
): Promise<Refusal | null> {
  const multipart = (contentType ?? "").toLowerCase().startsWith("multipart/form-data");
  // A (state, FormData) call is always multipart; a typed call of plain data is always text.
  if (!multipart) {
    if (!fetchAction) return null;
    return isOneObject(parseJson(body.toString("utf8"))) ? null : { status: 400, reason: "text arguments are not one object" };
  }
  let form: FormData;
  try {
    form = await new Request("http://latchkey.invalid/", {
      method: "POST",
      headers: { "content-type": contentType! },
      body: Uint8Array.from(body),
    }).formData();
  } catch {
    return { status: 400, reason: "unreadable multipart body" };
  }
  if (!fetchAction) return checkFormPost(form, actionIds);
  return isStateAndForm(parseJson(form.get("0"))) ? null : { status: 400, reason: "arguments are not (state, FormData)" };
}

/** A printable, bounded copy of a header value for the log line. */
function forLog(value: string | undefined): string {
  if (value === undefined) return "-";
  const clean = value.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 100 ? `${clean.slice(0, 100)}...` : clean;
}

/** A request like `req` whose body is `body`, for Next.js to read as if from the socket. */
function withBody(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.url;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.headers = req.headers;
  copy.rawHeaders = req.rawHeaders;
  copy.trailers = {};
  copy.push(body);
  copy.push(null);
  copy.complete = true;
  return copy;
}

/**
 * Returns the guard: call it with every request bound for Next.js and the function that hands a
 * request on. Requests that are not server actions are handed on untouched and unread.
 */
export function createServerActionGuard(options: ServerActionGuardOptions = {}) {
  const limit = options.bodyLimit ?? SERVER_ACTION_BODY_LIMIT;
  const log = options.log ?? ((line: string) => console.warn(line));

  function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, close = false): void {
    const origin = single(req.headers.origin);
    // The page's first segment only: a deeper path can hold a secret (an invite's token).
    const [, first = "", ...rest] = (req.url ?? "").split("?")[0]!.split("/");
    const path = `/${first}${rest.length ? "/..." : ""}`;
    log(
      `[latchkey] server action refused: ${refusal.status} ${refusal.reason} ` +
        `(POST ${forLog(path)}, origin ${forLog(origin)}, ip ${forLog(single(req.headers["x-latchkey-client-ip"]))})`,
    );
    if (res.headersSent) return;
    res.writeHead(refusal.status, {
      ...TEXT,
      ...(refusal.unknownAction ? { [UNKNOWN_ACTION_HEADER]: "1" } : {}),
      ...(close ? { Connection: "close" } : {}),
    });
    res.end(ANSWERS[refusal.status]);
  }

  /**
   * Refuses a body over the limit. The rest of it is read and thrown away first (up to
   * DRAIN_LIMIT), so the answer reaches the client instead of a reset of a connection closed
   * under the data it is still sending; then the connection is closed.
   */
  function tooLarge(req: IncomingMessage, res: ServerResponse, received: number): void {
    let drained = received;
    const answer = () => {
      req.off("data", onData);
      req.off("end", answer);
      refuse(req, res, { status: 413, reason: `body over ${limit} bytes` }, true);
    };
    const onData = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_LIMIT) {
        req.pause();
        answer();
      }
    };
    if (req.complete) return answer();
    req.on("data", onData);
    req.on("end", answer);
    req.on("error", () => {});
    req.resume();
  }

  return function guardServerAction(req: IncomingMessage, res: ServerResponse, handOn: HandOn): void {
    if (!isServerActionRequest(req)) return handOn(req);
    const originRefusal = checkOrigin(req.headers, options.publicUrl);
    if (originRefusal) {
      // The body is unread: Node.js discards it before the connection's next request.
      return refuse(req, res, originRefusal);
    }
    const actionId = single(req.headers["next-action"]);
    if (actionId !== undefined && options.actionIds && !options.actionIds.has(actionId)) return refuse(req, res, unknownAction(actionId));
    const declared = Number(single(req.headers["content-length"]));
    if (Number.isFinite(declared) && declared > limit) {
      if (declared > DRAIN_LIMIT) return refuse(req, res, { status: 413, reason: `body over ${limit} bytes` }, true);
      return tooLarge(req, res, 0);
    }

    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        tooLarge(req, res, size);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const body = Buffer.concat(chunks, size);
      const fetchAction = req.headers["next-action"] !== undefined;
      checkServerActionBody(single(req.headers["content-type"]), body, fetchAction, options.actionIds).then(
        (refusal) => (refusal ? refuse(req, res, refusal) : handOn(withBody(req, body))),
        () => refuse(req, res, { status: 400, reason: "unreadable body" }),
      );
    };
    const onError = () => cleanup();
    function cleanup() {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  };
}
