/**
 * Confirm it's you (SPEC §12): the sensitive operations refuse a browser session whose last
 * sign-in or confirmation is older than 15 minutes, in the services themselves, and
 * confirmIdentity renews the session's confirmation after checking the password.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authThrottle, sessions, users } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { CONFIRMATION_WINDOW_MS } from "@/lib/auth/authorize";
import { confirmIdentity, WRONG_PASSWORD_MESSAGE } from "@/lib/auth/confirm";
import { hashPassword } from "@/lib/auth/password";
import { findActiveSession } from "@/lib/auth/sessions";
import { THROTTLE, throttleKeys } from "@/lib/auth/throttle";
import { CONFIRMATION_REQUIRED_MESSAGE } from "@/lib/errors";
import { deleteApiKeyAsAdmin, deleteApiKeysAsAdmin, disableApiKeysAsAdmin, setApiKeyStatusAsAdmin } from "@/lib/keys/admin";
import { createApiKey, deleteApiKey, regenerateApiKey, revealApiKey } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { readKeyPolicy } from "@/lib/settings/policy";
import { updateKeyPolicy } from "@/lib/settings/service";
import { changeRole, removeUser, signOutEverywhere, transferOwnership } from "@/lib/users/roles";
import { changeOwnPassword } from "@/lib/users/password";
import { createInvite } from "@/lib/users/service";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectUnchanged, makeUser, snapshot, withSession } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let owner: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner");
});
afterAll(() => teardown());

const MINUTE = 60 * 1000;
const confirmedAgo = (actor: Actor, ms: number): Actor => ({ ...actor, confirmedAt: new Date(Date.now() - ms) });
let counter = 0;
const keyOf = async (actor: Actor) => (await createApiKey(actor, { name: `key ${++counter}`, access_level: "read_write" })).key;

/** Each operation SPEC §12 guards: who acts, and the call (made on fresh rows every time). */
const OPERATIONS: { name: string; prepare: () => Promise<{ actor: Actor; call: (actor: Actor) => Promise<unknown> }> }[] = [
  ...(["reveal", "copy", "qr"] as const).map((purpose) => ({
    name: `Profile: ${purpose} a key's secret`,
    prepare: async () => {
      const actor = await makeUser("staff");
      const key = await keyOf(actor);
      return { actor, call: (a: Actor) => revealApiKey(a, key.id, purpose) };
    },
  })),
  {
    name: "Profile: Regenerate",
    prepare: async () => {
      const actor = await makeUser("staff");
      const key = await keyOf(actor);
      return { actor, call: (a) => regenerateApiKey(a, key.id) };
    },
  },
  {
    name: "Profile: Delete",
    prepare: async () => {
      const actor = await makeUser("staff");
      const key = await keyOf(actor);
      return { actor, call: (a) => deleteApiKey(a, key.id) };
    },
  },
  {
    name: "Access Manager: Disable",
    prepare: async () => {
      const key = await keyOf(await makeUser("staff"));
      return { actor: await makeUser("admin"), call: (a) => setApiKeyStatusAsAdmin(a, key.id, "disabled") };
    },
  },
  {
    name: "Access Manager: Delete",
    prepare: async () => {
      const key = await keyOf(await makeUser("staff"));
      return { actor: await makeUser("admin"), call: (a) => deleteApiKeyAsAdmin(a, key.id) };
    },
  },
  {
    name: "Access Manager: Disable selected",
    prepare: async () => {
      const key = await keyOf(await makeUser("staff"));
      return { actor: await makeUser("admin"), call: (a) => disableApiKeysAsAdmin(a, { ids: [key.id] }) };
    },
  },
  {
    name: "Access Manager: Delete selected",
    prepare: async () => {
      const key = await keyOf(await makeUser("staff"));
      return { actor: await makeUser("admin"), call: (a) => deleteApiKeysAsAdmin(a, { ids: [key.id] }) };
    },
  },
  {
    name: "Users: change a role",
    prepare: async () => {
      const person = await makeUser("staff");
      await keyOf(person);
      return { actor: await makeUser("admin"), call: (a) => changeRole(a, { userId: person.userId, role: "lite" }) };
    },
  },
  {
    name: "Users: Remove",
    prepare: async () => {
      const person = await makeUser("staff");
      return { actor: await makeUser("admin"), call: (a) => removeUser(a, person.userId) };
    },
  },
  {
    name: "Users: Sign out everywhere",
    prepare: async () => {
      const person = await withSession(await makeUser("staff"));
      return { actor: await makeUser("admin"), call: (a) => signOutEverywhere(a, person.userId) };
    },
  },
  {
    name: "Users: Invite",
    prepare: async () => ({
      actor: await makeUser("admin"),
      call: (a) => createInvite(a, { email: `invitee-${++counter}@example.test`, role: "staff" }),
    }),
  },
  {
    name: "Settings: save the key policy",
    prepare: async () => {
      const current = await readKeyPolicy(db());
      const days = current.maxKeyLifetimeDays === 90 ? 30 : 90;
      return {
        actor: await makeUser("admin"),
        call: (a) => updateKeyPolicy(a, { max_key_lifetime_days: days, disable_unused_after_days: null }),
      };
    },
  },
  // Last: the allowed transfer makes someone else the Owner.
  {
    name: "Users: Transfer ownership",
    prepare: async () => {
      const heir = await makeUser("admin");
      return { actor: owner, call: (a) => transferOwnership(a, heir.userId) };
    },
  },
];

describe("Confirm it's you, enforced in the services", () => {
  const cases = OPERATIONS.flatMap((op) => [
    { op, session: "confirmed 16 minutes ago", age: 16 * MINUTE, allowed: false },
    { op, session: "never confirmed (no confirmedAt)", age: null, allowed: false },
    { op, session: "fresh (signed in just now)", age: 0, allowed: true },
  ]);

  it.each(cases)("$op.name, $session: allowed $allowed", async ({ op, age, allowed }) => {
    const { actor, call } = await op.prepare();
    const acting = age === null ? { ...actor, confirmedAt: undefined } : confirmedAgo(actor, age);
    const policy = await readKeyPolicy(db());
    const before = await snapshot();
    if (allowed) {
      await call(acting); // throws if refused
      expect((await auditSince(before)).length).toBeGreaterThan(0);
    } else {
      await expect(call(acting)).rejects.toMatchObject({ code: "confirmation_required", message: CONFIRMATION_REQUIRED_MESSAGE });
      await expectUnchanged(before);
      expect(await readKeyPolicy(db())).toEqual(policy);
    }
  });

  it("the window is 15 minutes: 14 minutes ago is still confirmed", async () => {
    expect(CONFIRMATION_WINDOW_MS).toBe(15 * MINUTE);
    const actor = await makeUser("staff");
    const key = await keyOf(actor);
    await expect(revealApiKey(confirmedAgo(actor, 14 * MINUTE), key.id, "reveal")).resolves.toMatch(/^lk_/);
    await expect(revealApiKey(confirmedAgo(actor, 15 * MINUTE + 1000), key.id, "reveal")).rejects.toMatchObject({
      code: "confirmation_required",
    });
  });

  it("asks nothing of API-key actors (the key is the credential): Regenerate and Delete through a Read & Write key", async () => {
    const person = await makeUser("staff");
    const key = await keyOf(person);
    const target = await keyOf(person);
    const viaKey: Actor = {
      ...person,
      confirmedAt: undefined,
      apiKey: { id: key.id, name: key.name, accessLevel: "read_write" },
    };
    await expect(regenerateApiKey(viaKey, target.id)).resolves.toMatchObject({ key: { id: target.id } });
    await expect(deleteApiKey(viaKey, target.id)).resolves.toEqual({ name: target.name });
  });

  it("reading stays open: the Access Manager list, previews and settings need no confirmation", async () => {
    const { listApiKeysForAdmin } = await import("@/lib/keys/admin");
    const { previewRemoval } = await import("@/lib/users/roles");
    const { getKeyPolicy } = await import("@/lib/settings/service");
    const admin = confirmedAgo(await makeUser("admin"), 60 * MINUTE);
    const person = await makeUser("staff");
    await expect(listApiKeysForAdmin(admin, {} as never)).resolves.toHaveProperty("rows");
    await expect(previewRemoval(admin, person.userId)).resolves.toHaveProperty("keysToDelete");
    await expect(getKeyPolicy(admin)).resolves.toHaveProperty("maxKeyLifetimeDays");
  });
});

describe("confirmIdentity", () => {
  const PASSWORD = "correct horse battery";
  const IP = "203.0.113.50";

  /** A person with a password and a session signed in `minutesAgo`, as getActor would build them. */
  async function signedIn(minutesAgo: number) {
    const person = await makeUser("staff");
    await db()
      .update(users)
      .set({ passwordHash: await hashPassword(PASSWORD) })
      .where(eq(users.id, person.userId));
    const at = new Date(Date.now() - minutesAgo * MINUTE);
    const session = await withSession({ ...person, ip: IP }, null, at);
    const found = await findActiveSession(session.sessionId);
    expect(found!.confirmedAt.getTime()).toBe(at.getTime()); // signing in is the first confirmation
    return { ...session, confirmedAt: found!.confirmedAt };
  }

  const sessionRow = async (id: string) => (await db().select().from(sessions).where(eq(sessions.id, id)))[0]!;
  const pairFailures = async (actor: Actor) => {
    const [row] = await db()
      .select()
      .from(authThrottle)
      .where(eq(authThrottle.key, throttleKeys("password_change", actor.userId, actor.ip).pair));
    return row?.failures ?? 0;
  };

  it("the right password confirms the session for the next 15 minutes, audited", async () => {
    const actor = await signedIn(20);
    const key = await keyOf(actor);
    await expect(revealApiKey(actor, key.id, "reveal")).rejects.toMatchObject({ code: "confirmation_required" });
    const before = await snapshot();
    const now = new Date();
    await expect(confirmIdentity(actor, { password: PASSWORD }, now)).resolves.toEqual({ confirmedAt: now });
    expect((await sessionRow(actor.sessionId)).confirmedAt.getTime()).toBe(now.getTime());
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.confirmed", actorUserId: actor.userId, targetId: actor.userId, ip: IP },
    ]);
    // The next request builds its actor from the session row: the reveal goes through.
    const next = await findActiveSession(actor.sessionId);
    await expect(revealApiKey({ ...actor, confirmedAt: next!.confirmedAt }, key.id, "reveal")).resolves.toMatch(/^lk_/);
  });

  it("a wrong password is refused under the field, counted and audited, and changes nothing else", async () => {
    const actor = await signedIn(20);
    const row = await sessionRow(actor.sessionId);
    const before = await snapshot();
    await expect(confirmIdentity(actor, { password: "not my password" })).rejects.toMatchObject({
      code: "invalid",
      field: "password",
      message: WRONG_PASSWORD_MESSAGE,
    });
    expect(await sessionRow(actor.sessionId)).toEqual(row);
    expect(await pairFailures(actor)).toBe(1);
    expect(await auditSince(before)).toMatchObject([{ action: "auth.confirm_failed", actorUserId: actor.userId }]);
    // A success afterwards clears the pair's count.
    await confirmIdentity(actor, { password: PASSWORD });
    expect(await pairFailures(actor)).toBe(0);
  });

  it("is rate limited like passwords: after the free failures even the right password waits, one audit row", async () => {
    const actor = await signedIn(20);
    const now = new Date();
    for (let i = 0; i < THROTTLE.pairFreeFailures; i++) {
      await expect(confirmIdentity(actor, { password: `wrong ${i}` }, now)).rejects.toMatchObject({ code: "invalid" });
    }
    const before = await snapshot();
    await expect(confirmIdentity(actor, { password: PASSWORD }, now)).rejects.toMatchObject({ code: "rate_limited", retryAfterSeconds: 1 });
    await expect(confirmIdentity(actor, { password: PASSWORD }, now)).rejects.toMatchObject({ code: "rate_limited" });
    expect(await auditSince(before)).toMatchObject([{ action: "auth.confirm_rate_limited", metadata: { limited_by: "pair" } }]);
    expect((await sessionRow(actor.sessionId)).confirmedAt.getTime()).toBeLessThan(now.getTime() - 15 * MINUTE);
    // The wait over, the right password confirms.
    await expect(confirmIdentity(actor, { password: PASSWORD }, new Date(now.getTime() + 2000))).resolves.toBeDefined();
  });

  it("shares its budget with the password change form (the same password, the same person)", async () => {
    const actor = await signedIn(20);
    const now = new Date();
    for (let i = 0; i < THROTTLE.pairFreeFailures; i++) {
      await expect(confirmIdentity(actor, { password: `wrong ${i}` }, now)).rejects.toMatchObject({ code: "invalid" });
    }
    const input = { current_password: PASSWORD, new_password: "a brand new password" };
    await expect(changeOwnPassword(actor, input, now)).rejects.toMatchObject({ code: "rate_limited" });
  });

  it("is refused through an API key and without a session", async () => {
    const actor = await signedIn(0);
    const key = await keyOf(actor);
    await expect(
      confirmIdentity(
        { ...actor, sessionId: undefined, apiKey: { id: key.id, name: key.name, accessLevel: "read_write" } },
        { password: PASSWORD },
      ),
    ).rejects.toMatchObject({ code: "forbidden" });
    await expect(confirmIdentity({ ...actor, sessionId: undefined }, { password: PASSWORD })).rejects.toMatchObject({
      code: "unauthorized",
    });
  });
});
