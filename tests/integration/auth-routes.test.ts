/**
 * What /api/auth/* does with what a browser (or an attacker, unauthenticated) sends it: next-auth's
 * own handler with Latchkey's options, on a real database.
 *
 * - A crafted `callbackUrl` (a host no URL can be made of, a port out of range, another origin):
 *   what the route refuses before next-auth sees it, and where next-auth may then send the
 *   browser (this server only). The route itself, over HTTP, is e2e/auth-routes.spec.ts's.
 * - Signing in again from a signed-in browser ends the session its cookie named.
 * - The session endpoint names a session only while the sessions table says it lives.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, sessions, users } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { safeRedirect } from "@/lib/auth/options";
import { hashPassword } from "@/lib/auth/password";
import { liveSessionAnswer } from "@/lib/auth/auth-route";
import { isCallbackUrl } from "@/lib/auth/callback-url";
import { endSessionOnSignOut, findActiveSession } from "@/lib/auth/sessions";
import { db } from "@/lib/runtime";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";
import { nextAuthRequest, type Jar } from "../helpers/next-auth";

const ORIGIN = "http://127.0.0.1:4998";
const PASSWORD = "correct horse 42";
const CALLBACK_COOKIE = "next-auth.callback-url";
const SESSION_COOKIE = "next-auth.session-token";

let teardown: () => Promise<void>;
let person: Actor;
const saved = { ...process.env };

beforeAll(async () => {
  teardown = await setupTestDatabase();
  process.env.NEXTAUTH_URL = ORIGIN;
  person = await makeUser("staff", { email: "auth-routes@example.test" });
  await db()
    .update(users)
    .set({ passwordHash: await hashPassword(PASSWORD) })
    .where(eq(users.id, person.userId));
});
afterAll(async () => {
  process.env = saved;
  await teardown();
});

const CRAFTED = [
  "http://127.0.0.1:4100.evil.example/",
  "http://127.0.0.1:99999/",
  "http://[::1/",
  "https://evil.example/profile",
  "//evil.example/",
  "/\\evil.example/",
  "javascript:alert(1)",
];

/** Signs `jar`'s browser in with the password form, as the sign-in page does; the session id its cookie now names. */
async function signIn(jar: Jar): Promise<string> {
  const { body } = await nextAuthRequest(ORIGIN, jar, "csrf");
  const csrfToken = (body as { csrfToken: string }).csrfToken;
  const answer = await nextAuthRequest(ORIGIN, jar, "callback", {
    method: "POST",
    providerId: "credentials",
    body: { csrfToken, email: person.email, password: PASSWORD, json: "true" },
  });
  expect(answer.status ?? 302, JSON.stringify(answer.body)).toBeLessThan(400);
  expect(answer.redirect?.startsWith(ORIGIN)).toBe(true);
  const session = await nextAuthRequest(ORIGIN, jar, "session");
  const sid = (session.body as { user?: { sid?: string } }).user?.sid;
  expect(typeof sid).toBe("string");
  return sid!;
}

describe("a crafted callbackUrl", () => {
  it.each(CRAFTED)("%s is this server's root, never a redirect elsewhere, never an exception", (url) => {
    expect(safeRedirect({ url, baseUrl: ORIGIN })).toBe(ORIGIN);
  });

  it("paths and URLs of this server stay as they are", () => {
    expect(safeRedirect({ url: "/profile?tab=keys", baseUrl: ORIGIN })).toBe(`${ORIGIN}/profile?tab=keys`);
    expect(safeRedirect({ url: `${ORIGIN}/admin/users`, baseUrl: ORIGIN })).toBe(`${ORIGIN}/admin/users`);
  });

  it.each([
    ["http://127.0.0.1:4100.evil.example/", false],
    ["http://127.0.0.1:99999/", false],
    ["http://[::1/", false],
    ["javascript:alert(1)", false],
    ["not a url", false],
    ["https://evil.example/profile", true],
    ["//evil.example/", true],
    ["/profile", true],
  ])("isCallbackUrl(%s) is %s: what the route refuses before next-auth would answer 500", (value, expected) => {
    expect(isCallbackUrl(value, ORIGIN)).toBe(expected);
  });

  it("a callback cookie the route lets through is one next-auth answers, and signing in with it works", async () => {
    for (const value of CRAFTED.filter((candidate) => isCallbackUrl(candidate, ORIGIN))) {
      const jar: Jar = new Map([[CALLBACK_COOKIE, value]]);
      for (const action of ["csrf", "session", "providers"]) {
        const answer = await nextAuthRequest(ORIGIN, jar, action);
        expect(answer.status ?? 200, `${action} with ${value}`).toBeLessThan(500);
      }
      const sid = await signIn(jar);
      expect(await findActiveSession(sid)).not.toBeNull();
    }
  });
});

describe("signing in again from a signed-in browser", () => {
  it("ends the session the browser's cookie named (audited), and only that one", async () => {
    const jar: Jar = new Map();
    const first = await signIn(jar);
    const elsewhere = await signIn(new Map());
    const second = await signIn(jar);
    expect(second).not.toBe(first);
    expect(await db().select().from(sessions).where(eq(sessions.id, first))).toEqual([]);
    expect(await findActiveSession(second)).not.toBeNull();
    // Another browser's session of the same person is not this browser's: it stays.
    expect(await findActiveSession(elsewhere)).not.toBeNull();
    const audited = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "auth.signed_out"), eq(auditLog.targetId, person.userId)));
    expect(audited.filter((row) => row.metadata.reason === "signed_in_again")).toHaveLength(1);
  });
});

describe("GET /api/auth/session", () => {
  /** The route's answer for `jar`'s browser: next-auth's, then held to the sessions table. */
  async function sessionAnswer(jar: Jar): Promise<Response> {
    const internal = await nextAuthRequest(ORIGIN, new Map(jar), "session");
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
    const headers = new Headers({ "content-type": "application/json" });
    for (const set of internal.cookies ?? []) headers.append("set-cookie", `${set.name}=${set.value}; Path=/`);
    return liveSessionAnswer(
      new Request(`${ORIGIN}/api/auth/session`, { headers: { cookie } }),
      new Response(JSON.stringify(internal.body ?? {}), { status: internal.status ?? 200, headers }),
    );
  }

  it("names a live session; once signed out it is {} and the cookie is cleared", async () => {
    const jar: Jar = new Map();
    const sid = await signIn(jar);
    const live = await sessionAnswer(jar);
    expect(await live.json()).toEqual({ user: { sid }, expires: expect.any(String) });
    await endSessionOnSignOut(sid, null);
    const ended = await sessionAnswer(jar);
    expect(await ended.json()).toEqual({});
    const cleared = ended.headers.getSetCookie().filter((line) => line.startsWith(`${SESSION_COOKIE}=`));
    expect(cleared).toEqual([`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`]);
  });
});
