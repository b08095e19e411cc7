import { createRequire } from "node:module";
import path from "node:path";
import type { NextAuthOptions } from "next-auth";
import { authOptions } from "@/lib/auth/options";

// next-auth's core handler (what its Next.js route calls with the request): the package does not
// export it by name, so it is loaded from next-auth's own folder.
const require = createRequire(import.meta.url);
export interface InternalResponse {
  status?: number;
  body?: unknown;
  redirect?: string;
  headers?: { key: string; value: string }[];
  cookies?: { name: string; value: string; options?: { maxAge?: number; expires?: Date | string } }[];
}
const { AuthHandler } = require(path.join(path.dirname(require.resolve("next-auth")), "core")) as {
  AuthHandler: (params: { req: Record<string, unknown>; options: NextAuthOptions }) => Promise<InternalResponse>;
};

/** A browser's cookies for next-auth, by name. */
export type Jar = Map<string, string>;

export interface NextAuthCall {
  method?: string;
  providerId?: string;
  query?: Record<string, string>;
  body?: object;
}

/**
 * One request to next-auth's handler with Latchkey's options, as app/api/auth/[...nextauth] makes
 * it, for a browser at `origin` whose cookies are `jar` (kept up to date from the answer). Follows
 * next-auth's hops to its own error and sign-in routes, as a browser would.
 */
export async function nextAuthRequest(origin: string, jar: Jar, action: string, call: NextAuthCall = {}): Promise<InternalResponse> {
  const { method = "GET", providerId, query = {}, body } = call;
  const response = await AuthHandler({
    req: {
      action,
      providerId,
      method,
      query: { ...query, nextauth: [action, ...(providerId ? [providerId] : [])] },
      body: body as Record<string, unknown> | undefined,
      cookies: Object.fromEntries(jar),
      headers: {
        host: new URL(origin).host,
        "user-agent": "vitest",
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
      },
      error: query.error ?? providerId,
    },
    options: authOptions(),
  });
  for (const cookie of response.cookies ?? []) {
    const expired = cookie.options?.maxAge === 0 || (cookie.options?.expires && new Date(cookie.options.expires).getTime() <= Date.now());
    if (expired || cookie.value === "") jar.delete(cookie.name);
    else jar.set(cookie.name, cookie.value);
  }
  const hop = response.redirect ? /^\/api\/auth\/(error|signin)$/.exec(new URL(response.redirect, origin).pathname) : null;
  if (hop && response.redirect!.startsWith(origin)) {
    return nextAuthRequest(origin, jar, hop[1]!, { query: Object.fromEntries(new URL(response.redirect!).searchParams) });
  }
  return response;
}
