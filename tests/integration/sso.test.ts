/**
 * Single sign-on with OpenID Connect (SPEC §12), end to end at the protocol level: next-auth's own
 * handler (the one /api/auth/* runs) with Latchkey's options, against a real OpenID provider on a
 * local port (tests/helpers/oidc-provider.ts), on a real database. Each sign-in goes the whole
 * way: CSRF token, the authorization request (state, PKCE, nonce), the provider's sign-in form,
 * the code back to the callback, the token request and the ID token's checks.
 *
 * Who gets in: the person with the verified email (any case), or a pending invite for it, which
 * becomes their account; nobody else unless OIDC_DEFAULT_ROLE is set. Refused, with a message code
 * for /sign-in and an audit row, and nothing else changed: an unverified email, an unknown one, a
 * wrong audience, a bad signature, a replayed callback.
 */
import { and, eq, gt, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { auditLog, authThrottle, invites, sessions, users, type AuditRow } from "@/db/schema";
import { NO_PASSWORD_HASH } from "@/lib/auth/password";
import { findActiveSession, findPendingSession } from "@/lib/auth/sessions";
import { totpCodeAt, totpStep } from "@/lib/auth/totp";
import { beginTwoFactorSetup, enableTwoFactor } from "@/lib/auth/two-factor";
import { changeOwnPassword, NO_PASSWORD_MESSAGE } from "@/lib/users/password";
import { createInvite, verifyCredentials } from "@/lib/users/service";
import { createServiceAccount, serviceAccountEmail } from "@/lib/users/service-accounts";
import { db } from "@/lib/runtime";
import { inviteSchema } from "@/lib/validation/users";
import { createServiceAccountSchema } from "@/lib/validation/users";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, makeUser, snapshot, withSession, type DbSnapshot } from "../helpers/fixtures";
import { nextAuthRequest, type Jar, type NextAuthCall } from "../helpers/next-auth";
import { startTestIdentityProvider, type TestIdentityProvider } from "../helpers/oidc-provider";

/** Where Latchkey pretends to live: next-auth builds the callback URL from NEXTAUTH_URL. */
const ORIGIN = "http://127.0.0.1:4999";

let teardown: () => Promise<void>;
let idp: TestIdentityProvider;
const saved = { ...process.env };

beforeAll(async () => {
  teardown = await setupTestDatabase();
  idp = await startTestIdentityProvider({
    redirectUri: `${ORIGIN}/api/auth/callback/oidc`,
    accounts: [
      { email: "olive@example.test", name: "Olive at the provider" },
      { email: "ivy@example.test", name: "Ivy Invited" },
      { email: "late@example.test", name: "Late Invitee" },
      { email: "stranger@example.test", name: "Stan Stranger" },
      { email: "newcomer@example.test", name: "Nina Newcomer" },
      { email: "unverified@example.test", name: "Una Unverified", emailVerified: false },
    ],
  });
  Object.assign(process.env, {
    NEXTAUTH_URL: ORIGIN,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
  });
  delete process.env.OIDC_DEFAULT_ROLE;
});
afterAll(async () => {
  process.env = saved;
  await idp?.close();
  await teardown();
});
beforeEach(() => {
  idp.tamper(null);
  delete process.env.OIDC_DEFAULT_ROLE;
});

/** One request to next-auth's handler, as app/api/auth/[...nextauth] makes it; cookies kept in `jar`. */
const nextAuth = (jar: Jar, action: string, call: NextAuthCall = {}) => nextAuthRequest(ORIGIN, jar, action, call);

/** A browser at the provider: follows its redirects, keeps its cookies, fills its sign-in form. */
async function atProvider(start: string, email: string): Promise<URL> {
  const cookies = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string>), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  };
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    let response = await send(url);
    if (response.status === 200 && new URL(url).pathname.startsWith("/interaction/")) {
      response = await send(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ email }).toString(),
      });
    }
    const location = response.headers.get("location");
    if (!location) throw new Error(`the provider answered ${response.status} at ${url}: ${(await response.text()).slice(0, 300)}`);
    const next = new URL(location, url);
    if (next.origin === ORIGIN) return next;
    url = next.href;
  }
  throw new Error("too many redirects at the provider");
}

interface Attempt {
  /** Where next-auth sent the browser after the callback. */
  redirect: string;
  jar: Jar;
  /** The callback URL the provider sent the browser to (code and state), for replays. */
  callback: URL;
}

/** The whole sign-in: Sign in with SSO, the provider's form as `email`, the callback. */
async function signInWithSso(email: string): Promise<Attempt> {
  const jar: Jar = new Map();
  const csrf = await nextAuth(jar, "csrf");
  const csrfToken = (csrf.body as { csrfToken: string }).csrfToken;
  const start = await nextAuth(jar, "signin", {
    method: "POST",
    providerId: "oidc",
    body: { csrfToken, callbackUrl: `${ORIGIN}/profile`, json: "true" },
  });
  expect(start.redirect).toMatch(new RegExp(`^${idp.issuer}/auth\\?`));
  const authorize = new URL(start.redirect!);
  // The request carries what makes the answer single-use and bound to this browser.
  expect(authorize.searchParams.get("state")).toBeTruthy();
  expect(authorize.searchParams.get("nonce")).toBeTruthy();
  expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
  const callback = await atProvider(start.redirect!, email);
  expect(callback.pathname).toBe("/api/auth/callback/oidc");
  const done = await nextAuth(jar, "callback", { providerId: "oidc", query: Object.fromEntries(callback.searchParams) });
  return { redirect: done.redirect ?? "", jar, callback };
}

/** The `error` of a redirect to /sign-in (the code its message is chosen by), or null for anywhere else. */
function signInPageErrorOf(redirect: string | undefined): string | null {
  const url = new URL(redirect ?? "/", ORIGIN);
  return url.pathname === "/sign-in" ? url.searchParams.get("error") : null;
}

const sessionsOf = (userId: string) =>
  db()
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, new Date())));

/** Audit rows written since `before`, waiting briefly for the logger's (it writes after the response). */
async function auditAfter(before: DbSnapshot, count: number): Promise<AuditRow[]> {
  for (let i = 0; i < 50; i++) {
    const rows = await auditSince(before);
    if (rows.length >= count) return rows;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return auditSince(before);
}

async function userByEmail(email: string) {
  const [row] = await db()
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${email}`);
  return row;
}

describe("who single sign-on lets in", () => {
  it("the person with the provider's verified email gets a session (audited, method sso) and goes to the Profile page", async () => {
    const olive = await makeUser("owner", { email: "olive@example.test", name: "Olive Owner" });
    const before = await snapshot();
    const attempt = await signInWithSso("olive@example.test");
    expect(attempt.redirect).toBe(`${ORIGIN}/profile`);
    expect(attempt.jar.has("next-auth.session-token")).toBe(true);
    const rows = await sessionsOf(olive.userId);
    expect(rows).toHaveLength(1);
    await expectOnlyChanged(before, { sessions: [rows[0]!.id] });
    expect(await auditSince(before)).toMatchObject([
      {
        action: "auth.sign_in",
        targetId: olive.userId,
        actorLabel: "olive@example.test",
        metadata: { method: "sso", subject: "olive@example.test" },
      },
    ]);
    // Nothing about the person changed: not their name (the provider's differs), not their role.
    expect(await userByEmail("olive@example.test")).toMatchObject({ name: "Olive Owner", role: "owner" });
  });

  it("matches the email whatever its case at the provider", async () => {
    idp.setAccount({ email: "Mixed.Case@Example.TEST", name: "Max Mixed" });
    const person = await makeUser("staff", { email: "mixed.case@example.test" });
    const attempt = await signInWithSso("mixed.case@example.test");
    expect(attempt.redirect).toBe(`${ORIGIN}/profile`);
    expect(await sessionsOf(person.userId)).toHaveLength(1);
  });

  it("honours a pending invite: the account is made with the invite's role and no password, and the invite is used", async () => {
    const owner = (await userByEmail("olive@example.test"))!;
    const ownerActor = { userId: owner.id, email: owner.email, name: owner.name, role: owner.role, ip: null, confirmedAt: new Date() };
    await createInvite(ownerActor, inviteSchema.parse({ email: "ivy@example.test", role: "read_only" }));
    const before = await snapshot();
    const attempt = await signInWithSso("ivy@example.test");
    expect(attempt.redirect).toBe(`${ORIGIN}/profile`);
    const ivy = await userByEmail("ivy@example.test");
    expect(ivy).toMatchObject({ role: "read_only", name: "Ivy Invited", kind: "person", passwordHash: NO_PASSWORD_HASH });
    const [invite] = await db().select().from(invites).where(eq(invites.email, "ivy@example.test"));
    expect(invite).toMatchObject({ acceptedUserId: ivy!.id });
    expect(invite!.acceptedAt).toBeInstanceOf(Date);
    expect((await auditSince(before)).map((r) => [r.action, r.metadata])).toEqual([
      ["user.invite_accepted", { role: "read_only", via: "sso" }],
      ["auth.sign_in", { method: "sso", subject: "ivy@example.test" }],
    ]);
    // No password opens the account: it signs in through the provider only.
    expect(await verifyCredentials({ email: "ivy@example.test", password: NO_PASSWORD_HASH }, null)).toBeNull();
    // The second time, the account exists and is simply signed in; no second account.
    const again = await signInWithSso("ivy@example.test");
    expect(again.redirect).toBe(`${ORIGIN}/profile`);
    expect(await sessionsOf(ivy!.id)).toHaveLength(2);
  });

  it("an account single sign-on made has no password: Change password says so, changing and counting nothing", async () => {
    const ivy = (await userByEmail("ivy@example.test"))!;
    const [session] = await sessionsOf(ivy.id);
    expect(await findActiveSession(session!.id)).toMatchObject({ id: ivy.id, hasPassword: false });
    const actor = {
      userId: ivy.id,
      email: ivy.email,
      name: ivy.name,
      role: ivy.role,
      ip: "198.51.100.77",
      sessionId: session!.id,
      confirmedAt: new Date(),
      hasPassword: false,
    };
    const before = await snapshot();
    await expect(
      changeOwnPassword(actor, { current_password: NO_PASSWORD_HASH, new_password: "a brand new password" }),
    ).rejects.toMatchObject({
      code: "invalid",
      field: "current_password",
      message: NO_PASSWORD_MESSAGE,
    });
    await expectUnchanged(before);
    expect(
      await db()
        .select()
        .from(authThrottle)
        .where(sql`${authThrottle.key} like ${`%${ivy.id}%`}`),
    ).toEqual([]);
  });

  it("with OIDC_DEFAULT_ROLE, someone the provider vouches for gets an account with that role (audited)", async () => {
    process.env.OIDC_DEFAULT_ROLE = "lite";
    const before = await snapshot();
    const attempt = await signInWithSso("newcomer@example.test");
    expect(attempt.redirect).toBe(`${ORIGIN}/profile`);
    const nina = await userByEmail("newcomer@example.test");
    expect(nina).toMatchObject({ role: "lite", name: "Nina Newcomer", passwordHash: NO_PASSWORD_HASH });
    expect((await auditSince(before)).map((r) => r.action)).toEqual(["user.sso_created", "auth.sign_in"]);
  });
});

describe("single sign-on and two-factor authentication", () => {
  it("a person with 2FA on gets a session that waits for their code, and opens nothing until it comes", async () => {
    idp.setAccount({ email: "tess@example.test", name: "Tess" });
    const tess = await withSession(await makeUser("staff", { email: "tess@example.test" }));
    const { setupKey } = await beginTwoFactorSetup({ ...tess, hasPassword: true, twoFactor: false });
    const secret = setupKey.replace(/ /g, "");
    await enableTwoFactor({ ...tess, hasPassword: true, twoFactor: false }, totpCodeAt(secret, totpStep(new Date())));

    const before = await snapshot();
    const attempt = await signInWithSso("tess@example.test");
    expect(attempt.redirect).toBe(`${ORIGIN}/profile`);
    const [pending] = await db()
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, tess.userId), eq(sessions.secondFactorPending, true)));
    expect(pending).toBeDefined();
    // The cookie names a session that signs nothing in: the second step (/sign-in/two-factor) comes first.
    expect(await findActiveSession(pending!.id)).toBeNull();
    expect(await findPendingSession(pending!.id)).toMatchObject({ userId: tess.userId });
    expect(await auditSince(before)).toMatchObject([{ action: "auth.sign_in", metadata: { method: "sso", second_factor: "pending" } }]);
  });
});

describe("who single sign-on refuses, with a reason for /sign-in, audited, nothing else changed", () => {
  it("an email no person here has and nobody invited (without OIDC_DEFAULT_ROLE)", async () => {
    const before = await snapshot();
    const attempt = await signInWithSso("stranger@example.test");
    expect(attempt.redirect).toBe("/sign-in?error=Sso_no_account");
    expect(attempt.jar.has("next-auth.session-token")).toBe(false);
    await expectOnlyChanged(before, {});
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.sso_refused", targetLabel: "stranger@example.test", metadata: { reason: "no_account" } },
    ]);
  });

  it("an expired invite does not count", async () => {
    const owner = (await userByEmail("olive@example.test"))!;
    const ownerActor = { userId: owner.id, email: owner.email, name: owner.name, role: owner.role, ip: null, confirmedAt: new Date() };
    await createInvite(ownerActor, inviteSchema.parse({ email: "late@example.test", role: "staff" }));
    await db()
      .update(invites)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(invites.email, "late@example.test"));
    const before = await snapshot();
    const attempt = await signInWithSso("late@example.test");
    expect(attempt.redirect).toBe("/sign-in?error=Sso_no_account");
    await expectOnlyChanged(before, {});
  });

  it("an email the provider has not verified, even a real person's", async () => {
    const una = await makeUser("admin", { email: "unverified@example.test" });
    const before = await snapshot();
    const attempt = await signInWithSso("unverified@example.test");
    expect(attempt.redirect).toBe("/sign-in?error=Sso_unverified_email");
    expect(await sessionsOf(una.userId)).toHaveLength(0);
    await expectOnlyChanged(before, {});
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.sso_refused", targetLabel: "unverified@example.test", metadata: { reason: "unverified_email" } },
    ]);
  });

  it("a service account's address, even with OIDC_DEFAULT_ROLE: it never signs in", async () => {
    process.env.OIDC_DEFAULT_ROLE = "admin";
    const owner = (await userByEmail("olive@example.test"))!;
    const ownerActor = { userId: owner.id, email: owner.email, name: owner.name, role: owner.role, ip: null, confirmedAt: new Date() };
    const account = await createServiceAccount(ownerActor, createServiceAccountSchema.parse({ name: "Billing sync", role: "staff" }));
    const address = serviceAccountEmail(account.id);
    idp.setAccount({ email: address, name: "Impostor" });
    const before = await snapshot();
    const attempt = await signInWithSso(address);
    expect(attempt.redirect).toBe("/sign-in?error=Sso_no_account");
    await expectOnlyChanged(before, {});
  });

  it.each([
    ["aud", "an ID token for another client (wrong aud)", /aud/],
    ["signature", "an ID token signed by a key the provider does not publish", /signature|JWKS|key/i],
  ] as const)("%s: %s", async (mode, _what, problem) => {
    await makeUser("staff", { email: "stranger.tamper@example.test" }).catch(() => undefined);
    idp.setAccount({ email: "olive@example.test", name: "Olive" });
    const olive = (await userByEmail("olive@example.test"))!;
    const sessionsBefore = (await sessionsOf(olive.id)).length;
    idp.tamper(mode);
    const before = await snapshot();
    const attempt = await signInWithSso("olive@example.test");
    expect(signInPageErrorOf(attempt.redirect)).toBe("OAuthCallback");
    expect(attempt.jar.has("next-auth.session-token")).toBe(false);
    expect(await sessionsOf(olive.id)).toHaveLength(sessionsBefore);
    const rows = await auditAfter(before, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: "auth.sso_refused", metadata: { reason: "provider_error", code: "OAUTH_CALLBACK_ERROR" } });
    expect(String(rows[0]!.metadata.problem)).toMatch(problem);
    await expectOnlyChanged(before, {});
  });

  it("a replayed callback (its code and state used once already) starts no second session", async () => {
    const olive = (await userByEmail("olive@example.test"))!;
    const first = await signInWithSso("olive@example.test");
    expect(first.redirect).toBe(`${ORIGIN}/profile`);
    const count = (await sessionsOf(olive.id)).length;

    // The same browser sends the same callback again: its state cookie was spent.
    const before = await snapshot();
    const replay = await nextAuth(first.jar, "callback", { providerId: "oidc", query: Object.fromEntries(first.callback.searchParams) });
    expect(signInPageErrorOf(replay.redirect)).toBe("OAuthCallback");
    // Another browser, mid-way through its own sign-in, is sent the stolen callback: its state differs.
    const victim: Jar = new Map();
    const csrf = await nextAuth(victim, "csrf");
    await nextAuth(victim, "signin", {
      method: "POST",
      providerId: "oidc",
      body: { csrfToken: (csrf.body as { csrfToken: string }).csrfToken, callbackUrl: `${ORIGIN}/profile`, json: "true" },
    });
    const planted = await nextAuth(victim, "callback", { providerId: "oidc", query: Object.fromEntries(first.callback.searchParams) });
    expect(signInPageErrorOf(planted.redirect)).toBe("OAuthCallback");
    expect(victim.has("next-auth.session-token")).toBe(false);

    expect(await sessionsOf(olive.id)).toHaveLength(count);
    const rows = await auditAfter(before, 2);
    expect(rows.map((r) => [r.action, r.metadata.reason])).toEqual([
      ["auth.sso_refused", "provider_error"],
      ["auth.sso_refused", "provider_error"],
    ]);
    expect(String(rows[0]!.metadata.problem)).toMatch(/state/i);
    expect(String(rows[1]!.metadata.problem)).toMatch(/state/i);
    await expectOnlyChanged(before, {});
  });
});

describe("the audit log of single sign-on", () => {
  it("never holds a token or a code", async () => {
    const rows = await db().select().from(auditLog);
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // a JWT
    expect(text).not.toMatch(/"code":"(?!OAUTH)/); // an authorization code
  });
});
