import { and, eq } from "drizzle-orm";
import { decode, encode } from "next-auth/jwt";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/runtime";
import { auditLog, sessions, users, type Role } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { authOptions } from "@/lib/auth/options";
import { hashPassword } from "@/lib/auth/password";
import {
  createSession,
  endOtherSessions,
  endOwnSession,
  findActiveSession,
  listOwnSessions,
  SESSION_MAX_AGE_MS,
  SESSION_TOUCH_INTERVAL_MS,
} from "@/lib/auth/sessions";
import { changeOwnPassword } from "@/lib/users/password";
import { removeUser, signOutEverywhere } from "@/lib/users/roles";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, makeUser, snapshot, withSession } from "../helpers/fixtures";

// getActor reads the next-auth session and the request headers; here they come from a cookie
// the test holds, exactly as a browser (or someone who copied its cookie) would send it.
const request = vi.hoisted(() => ({ cookie: null as string | null }));
vi.mock("next/headers", () => ({ headers: async () => new Headers({ "x-latchkey-client-ip": "198.51.100.7" }) }));
vi.mock("next-auth", async (importOriginal) => {
  const original = await importOriginal<typeof import("next-auth")>();
  return {
    ...original,
    getServerSession: async (options: import("next-auth").NextAuthOptions) => {
      if (!request.cookie) return null;
      const token = await decode({ token: request.cookie, secret: options.secret! });
      if (!token) return null;
      return options.callbacks!.session!({ session: { expires: "" }, token } as never);
    },
  };
});

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());
beforeEach(() => {
  request.cookie = null;
});

const CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/** Signs in as next-auth does (authorize -> jwt callback -> encrypted cookie) and returns the cookie. */
async function signInCookie(email: string, password: string, ip = "198.51.100.7"): Promise<string> {
  const options = authOptions();
  const provider = options.providers[0] as unknown as {
    options: {
      authorize: (credentials: Record<string, string>, req: { headers: Record<string, string> }) => Promise<{ id: string } | null>;
    };
  };
  const user = await provider.options.authorize(
    { email, password },
    { headers: { "x-latchkey-client-ip": ip, "user-agent": CHROME_LINUX } },
  );
  if (!user) throw new Error("sign-in refused");
  const token = await options.callbacks!.jwt!({ token: {}, user } as never);
  return encode({ token, secret: options.secret! });
}

async function signOutWith(cookie: string): Promise<void> {
  const options = authOptions();
  const token = await decode({ token: cookie, secret: options.secret! });
  await options.events!.signOut!({ token: token!, session: undefined as never });
}

async function actorFor(cookie: string | null): Promise<Actor | null> {
  request.cookie = cookie;
  const { getActor } = await import("@/lib/auth/session");
  return getActor();
}

async function personWithPassword(role: Role, password = "right password 1"): Promise<Actor> {
  const actor = await makeUser(role);
  await db()
    .update(users)
    .set({ passwordHash: await hashPassword(password) })
    .where(eq(users.id, actor.userId));
  return actor;
}

describe("the cookie names a server-side session", () => {
  it("carries only the session id", async () => {
    const person = await personWithPassword("staff");
    const cookie = await signInCookie(person.email, "right password 1");
    const token = await decode({ token: cookie, secret: authOptions().secret! });
    expect(Object.keys(token!).sort()).toEqual(["exp", "iat", "jti", "sid"]);
    expect(await actorFor(cookie)).toMatchObject({ userId: person.userId, role: "staff", sessionId: token!.sid, ip: "198.51.100.7" });
  });

  it("sign out ends that session only, and a copy of its cookie is refused afterwards", async () => {
    const person = await personWithPassword("staff");
    const laptop = await signInCookie(person.email, "right password 1");
    const phone = await signInCookie(person.email, "right password 1");
    const copied = laptop; // taken before Sign out
    expect(await actorFor(copied)).not.toBeNull();
    const laptopSession = (await decode({ token: laptop, secret: authOptions().secret! }))!.sid as string;

    const before = await snapshot();
    await signOutWith(laptop);
    await expectOnlyChanged(before, { sessions: [laptopSession] });
    expect(await db().select().from(sessions).where(eq(sessions.id, laptopSession))).toEqual([]);
    expect(await auditSince(before)).toMatchObject([{ action: "auth.signed_out", targetId: person.userId, actorLabel: person.email }]);

    // The copied cookie still decrypts (next-auth cannot take it back)...
    expect(await decode({ token: copied, secret: authOptions().secret! })).toHaveProperty("sid");
    // ...but its session is gone: getActor, which every page and server action goes through, refuses it.
    expect(await actorFor(copied)).toBeNull();
    expect(await actorFor(phone)).toMatchObject({ userId: person.userId });
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "auth.signed_out"), eq(auditLog.targetId, person.userId)));
    expect(audit).toHaveLength(1);
  });

  it("a server action with a signed-out cookie is refused before it runs", async () => {
    const person = await personWithPassword("staff");
    const cookie = await signInCookie(person.email, "right password 1");
    await signOutWith(cookie);
    request.cookie = cookie;
    const { validatedActionWithActor } = await import("@/lib/safe-action");
    const { z } = await import("zod");
    const body = vi.fn(async () => ({ ok: true as const }));
    const action = validatedActionWithActor(z.object({}), body);
    const result = await action(null, new FormData());
    expect(result).toMatchObject({ ok: false });
    expect(body).not.toHaveBeenCalled();
  });
});

describe("session cases", () => {
  it.each([
    {
      name: "an expired session is refused (the other one stays)",
      alsoEndsOthers: false,
      end: async (s: Actor & { sessionId: string }) => {
        await db()
          .update(sessions)
          .set({ expiresAt: new Date(Date.now() - 1000) })
          .where(eq(sessions.id, s.sessionId));
      },
    },
    {
      name: "a removed user's sessions end",
      alsoEndsOthers: true,
      end: async (s: Actor) => void (await removeUser(await makeUser("admin"), s.userId)),
    },
    {
      name: "Sign out everywhere ends them",
      alsoEndsOthers: true,
      end: async (s: Actor) => void (await signOutEverywhere(await makeUser("admin"), s.userId)),
    },
    {
      name: "another session's Sign out other sessions ends them",
      alsoEndsOthers: true,
      end: async (s: Actor) => void (await endOtherSessions(await withSession(s))),
    },
    {
      name: "a password change from another session ends them",
      alsoEndsOthers: true,
      end: async (s: Actor) => {
        await db()
          .update(users)
          .set({ passwordHash: await hashPassword("old password 1") })
          .where(eq(users.id, s.userId));
        await changeOwnPassword(await withSession(s), { current_password: "old password 1", new_password: "new password 2" });
      },
    },
  ])("$name", async ({ end, alsoEndsOthers }) => {
    const person = await withSession(await makeUser("staff"), CHROME_LINUX);
    const second = await withSession(person, SAFARI_IPHONE);
    expect(await findActiveSession(person.sessionId)).not.toBeNull();
    await end(person);
    expect(await findActiveSession(person.sessionId)).toBeNull();
    expect(await findActiveSession(second.sessionId)).toEqual(alsoEndsOthers ? null : expect.objectContaining({ id: person.userId }));
  });

  it("sessions expire 12 hours after sign-in", async () => {
    const person = await makeUser("staff");
    const start = new Date("2026-01-01T08:00:00Z");
    const { sessionId } = await withSession(person, null, start);
    expect(await findActiveSession(sessionId, new Date(start.getTime() + SESSION_MAX_AGE_MS - 1000))).not.toBeNull();
    expect(await findActiveSession(sessionId, new Date(start.getTime() + SESSION_MAX_AGE_MS))).toBeNull();
  });

  it("marks the session active at most once a minute", async () => {
    const person = await makeUser("staff");
    const start = new Date(Date.now() - 10 * 60 * 1000);
    const { sessionId } = await withSession(person, null, start);
    const lastActive = async () => (await db().select().from(sessions).where(eq(sessions.id, sessionId)))[0]!.lastActiveAt.getTime();
    await findActiveSession(sessionId, new Date(start.getTime() + SESSION_TOUCH_INTERVAL_MS - 1));
    expect(await lastActive()).toBe(start.getTime());
    await findActiveSession(sessionId, new Date(start.getTime() + SESSION_TOUCH_INTERVAL_MS));
    expect(await lastActive()).toBe(start.getTime() + SESSION_TOUCH_INTERVAL_MS);
  });

  it("signing in prunes expired sessions", async () => {
    const person = await makeUser("staff");
    const old = await withSession(person, null, new Date(Date.now() - SESSION_MAX_AGE_MS - 60_000));
    await withSession(person);
    expect(await db().select().from(sessions).where(eq(sessions.id, old.sessionId))).toEqual([]);
  });
});

describe("Profile: Sessions", () => {
  it("lists the person's own sessions, newest first, with device and address, this one marked", async () => {
    const person = await makeUser("staff");
    const older = await withSession({ ...person, ip: "192.0.2.10" }, SAFARI_IPHONE, new Date(Date.now() - 60_000));
    const current = await withSession(person, CHROME_LINUX);
    await withSession(await makeUser("staff"), CHROME_LINUX); // someone else's
    const list = await listOwnSessions(current);
    expect(list.map((s) => [s.device, s.ip, s.current])).toEqual([
      ["Chrome on Linux", "127.0.0.1", true],
      ["Safari on iPhone", "192.0.2.10", false],
    ]);
    expect(list[1]!.id).toBe(older.sessionId);
  });

  it("Sign out on a row ends that session only; another person's session is not found", async () => {
    const person = await withSession(await makeUser("staff"));
    const other = await withSession(person);
    const stranger = await withSession(await makeUser("staff"));
    const before = await snapshot();
    await expect(endOwnSession(person, stranger.sessionId)).rejects.toMatchObject({
      code: "not_found",
      message: "Session not found. It may have ended already.",
    });
    await expect(endOwnSession(person, "not-a-session")).rejects.toMatchObject({ code: "not_found", message: "Session not found." });
    await expectUnchanged(before);
    expect(await findActiveSession(stranger.sessionId)).not.toBeNull();

    const ending = await snapshot();
    await expect(endOwnSession(person, other.sessionId)).resolves.toEqual({ current: false });
    await expectOnlyChanged(ending, { sessions: [other.sessionId] });
    expect(await findActiveSession(other.sessionId)).toBeNull();
    expect(await findActiveSession(person.sessionId)).not.toBeNull();
    expect(await auditSince(ending)).toMatchObject([{ action: "session.ended", actorUserId: person.userId, targetId: person.userId }]);
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, "session.ended"), eq(auditLog.actorUserId, person.userId)));
    expect(audit).toHaveLength(1);
  });

  it("Sign out other sessions keeps this one", async () => {
    const person = await withSession(await makeUser("staff"));
    const others = [await withSession(person), await withSession(person)];
    await withSession(await makeUser("staff")); // someone else's, which stays
    const before = await snapshot();
    expect(await endOtherSessions(person)).toBe(2);
    await expectOnlyChanged(before, { sessions: others.map((o) => o.sessionId) });
    expect(await auditSince(before)).toMatchObject([
      { action: "session.others_ended", actorUserId: person.userId, targetId: person.userId, metadata: { sessions: 2 } },
    ]);
    for (const other of others) expect(await findActiveSession(other.sessionId)).toBeNull();
    expect(await findActiveSession(person.sessionId)).not.toBeNull();
  });
});

describe("Sign out everywhere (Users page)", () => {
  // Who may sign whom out: as with other user changes, never oneself, never the Owner unless you
  // are the Owner (which is oneself: so nobody signs the Owner out from here).
  const actors: Role[] = ["owner", "admin", "staff", "read_only", "lite"];
  const targets = ["owner", "admin", "staff", "self"] as const;
  const allowed = new Set(["owner->admin", "owner->staff", "admin->admin", "admin->staff"]);
  let owner: Actor;
  beforeAll(async () => {
    const [existing] = await db().select().from(users).where(eq(users.role, "owner"));
    owner = existing
      ? { userId: existing.id, email: existing.email, name: existing.name, role: "owner", ip: null, confirmedAt: new Date() }
      : await makeUser("owner");
  });

  const cases = actors.flatMap((actor) => targets.map((target) => ({ actor, target, ok: allowed.has(`${actor}->${target}`) })));
  it.each(cases)("$actor -> $target: allowed $ok", async ({ actor: actorRole, target, ok }) => {
    const actor = actorRole === "owner" ? owner : await makeUser(actorRole);
    const person = target === "self" ? actor : target === "owner" ? owner : await makeUser(target);
    const session = await withSession(person);
    const before = await snapshot();
    const call = signOutEverywhere(actor, person.userId);
    if (ok) {
      await expect(call).resolves.toMatchObject({ sessions: 1 });
      // That person's session only: everyone else's stay.
      await expectOnlyChanged(before, { sessions: [session.sessionId] });
      expect(await findActiveSession(session.sessionId)).toBeNull();
      expect(await auditSince(before)).toMatchObject([
        { action: "user.signed_out_everywhere", actorUserId: actor.userId, targetId: person.userId, metadata: { sessions: 1 } },
      ]);
    } else {
      const message = !["owner", "admin"].includes(actorRole)
        ? "You do not have permission to do that."
        : person.userId === actor.userId
          ? "You cannot sign yourself out everywhere here. Use Sessions on your Profile."
          : "Only the Owner can sign the Owner out.";
      await expect(call).rejects.toMatchObject({ code: "forbidden", message });
      await expectUnchanged(before);
      expect(await findActiveSession(session.sessionId)).not.toBeNull();
    }
    await db().delete(sessions).where(eq(sessions.id, session.sessionId));
  });

  it("is refused through an API key", async () => {
    const admin = await makeUser("admin");
    const staff = await withSession(await makeUser("staff"));
    const before = await snapshot();
    await expect(
      signOutEverywhere({ ...admin, apiKey: { id: "k", name: "k", accessLevel: "read_write" } }, staff.userId),
    ).rejects.toMatchObject({
      code: "forbidden",
      message: "Users are only managed in the browser.",
    });
    await expectUnchanged(before);
    expect(await findActiveSession(staff.sessionId)).not.toBeNull();
  });

  it("createSession truncates a long user agent", async () => {
    const person = await makeUser("staff");
    const id = await createSession(person.userId, { ip: null, userAgent: "x".repeat(5000) });
    const [row] = await db().select().from(sessions).where(eq(sessions.id, id));
    expect(row!.userAgent!.length).toBeLessThanOrEqual(512);
  });
});
