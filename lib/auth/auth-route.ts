import "server-only";
import { SESSION_COOKIE } from "./options";
import { findActiveSession, findPendingSession } from "./sessions";

/**
 * next-auth's `GET /api/auth/session` answers whatever the cookie says; a session that was
 * signed out, ended elsewhere or expired is still named by it. Latchkey's sessions table decides:
 * the answer names a session only while that session lives (signed in, or waiting for its second
 * factor); otherwise it is `{}`, as for no cookie, and the cookie is cleared.
 */
export async function liveSessionAnswer(req: Request, response: Response): Promise<Response> {
  if (!response.ok) return response;
  const body = (await response
    .clone()
    .json()
    .catch(() => null)) as { user?: { sid?: unknown } } | null;
  const sid = body?.user?.sid;
  if (typeof sid !== "string") return response;
  if ((await findActiveSession(sid)) || (await findPendingSession(sid))) return response;
  const headers = new Headers();
  for (const [name, value] of response.headers) if (name !== "set-cookie" && name !== "content-length") headers.set(name, value);
  // next-auth renews the cookie it answered from: that renewal is dropped, and the cookie cleared.
  for (const cookie of response.headers.getSetCookie()) {
    if (!SESSION_COOKIE.test(cookie.slice(0, cookie.indexOf("=")))) headers.append("set-cookie", cookie);
  }
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const name = part.slice(0, part.indexOf("=")).trim();
    if (SESSION_COOKIE.test(name)) {
      const secure = name.startsWith("__Secure-") ? "; Secure" : "";
      headers.append("set-cookie", `${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure}`);
    }
  }
  headers.set("content-type", "application/json");
  headers.set("cache-control", "no-store");
  return new Response("{}", { status: 200, headers });
}
