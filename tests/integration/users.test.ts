import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { auditLog, invites, users } from "@/db/schema";
import { findActiveSession } from "@/lib/auth/sessions";
import { acceptInvite, createInvite, createOwner, hasAnyUser, listUsers, lookupInvite, verifyCredentials } from "@/lib/users/service";
import { acceptInviteSchema, inviteSchema, setupSchema } from "@/lib/validation/users";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, makeUser, snapshot, userRow, withSession } from "../helpers/fixtures";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

const anon = { ip: "203.0.113.9", label: "anonymous" };

describe("first-run setup", () => {
  it("creates exactly one Owner, audited, and refuses a second setup", async () => {
    expect(await hasAnyUser()).toBe(false);
    const empty = await snapshot();
    const owner = await createOwner(
      setupSchema.parse({ name: "Olive Owner", email: "Olive@Example.test", password: "correct horse" }),
      anon,
    );
    await expectOnlyChanged(empty, { users: [owner.id] });
    expect(await userRow(owner.id)).toMatchObject({ role: "owner", email: "olive@example.test", name: "Olive Owner" });
    expect(await auditSince(empty)).toMatchObject([
      { action: "setup.owner_created", actorUserId: null, actorLabel: "olive@example.test", targetId: owner.id, ip: "203.0.113.9" },
    ]);
    expect(owner).toMatchObject({ role: "owner", email: "olive@example.test", name: "Olive Owner" });
    expect(owner).not.toHaveProperty("passwordHash");
    const [row] = await db().select().from(users).where(eq(users.id, owner.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row!.passwordHash).not.toContain("correct horse");

    const before = await snapshot();
    await expect(
      createOwner(setupSchema.parse({ name: "Eve", email: "eve@example.test", password: "another pass" }), anon),
    ).rejects.toMatchObject({
      code: "conflict",
      message: "Setup is already complete. Sign in instead.",
    });
    await expectUnchanged(before);
    const audit = await db().select().from(auditLog).where(eq(auditLog.action, "setup.owner_created"));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.ip).toBe("203.0.113.9");
  });
});

describe("sign-in", () => {
  it("accepts the right password (any email case) and audits it", async () => {
    const before = await snapshot();
    const result = await verifyCredentials({ email: "olive@example.test", password: "correct horse" }, "198.51.100.1");
    expect(result?.user.role).toBe("owner");
    await expectOnlyChanged(before, {});
    const [owner] = await db().select().from(users).where(eq(users.email, "olive@example.test"));
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.sign_in", actorUserId: null, actorLabel: "olive@example.test", targetId: owner!.id, ip: "198.51.100.1" },
    ]);
  });

  it("refuses a wrong password or unknown email with the same answer, audited as failures", async () => {
    const before = await snapshot();
    expect(await verifyCredentials({ email: "olive@example.test", password: "wrong password" }, "198.51.100.2")).toBeNull();
    expect(await verifyCredentials({ email: "nobody@example.test", password: "wrong password" }, "198.51.100.2")).toBeNull();
    // Nothing changes but the two failures in the audit log.
    await expectOnlyChanged(before, {});
    const failures = await auditSince(before);
    expect(failures.map((f) => [f.action, f.targetLabel, f.ip])).toEqual([
      ["auth.sign_in_failed", "olive@example.test", "198.51.100.2"],
      ["auth.sign_in_failed", "nobody@example.test", "198.51.100.2"],
    ]);
  });
});

describe("invites", () => {
  it("lets an admin invite; the link works once and creates the user with the invited role", async () => {
    const admin = await makeUser("admin");
    const before = await snapshot();
    const { token, expiresAt } = await createInvite(admin, inviteSchema.parse({ email: "new.staff@example.test", role: "staff" }));
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(6.9 * 24 * 3600 * 1000);
    const [stored] = await db().select().from(invites).where(eq(invites.email, "new.staff@example.test"));
    expect(stored).toMatchObject({ role: "staff", invitedBy: admin.userId, acceptedAt: null, acceptedUserId: null });
    expect(stored!.tokenDigest).not.toContain(token);
    await expectOnlyChanged(before, { invites: [stored!.id] });
    expect(await auditSince(before)).toMatchObject([
      {
        action: "user.invited",
        actorUserId: admin.userId,
        targetType: "invite",
        targetId: stored!.id,
        targetLabel: "new.staff@example.test",
        metadata: { role: "staff" },
      },
    ]);
    expect(await lookupInvite(token)).toMatchObject({ status: "valid", role: "staff" });

    const invited = await snapshot();
    const user = await acceptInvite(acceptInviteSchema.parse({ token, name: "New Staff", password: "staff password" }), "192.0.2.7");
    expect(user).toMatchObject({ email: "new.staff@example.test", role: "staff" });
    expect(await userRow(user.id)).toMatchObject({ email: "new.staff@example.test", name: "New Staff", role: "staff" });
    const [accepted] = await db().select().from(invites).where(eq(invites.id, stored!.id));
    expect(accepted).toMatchObject({ acceptedUserId: user.id, acceptedAt: expect.any(Date) });
    await expectOnlyChanged(invited, { users: [user.id], invites: [stored!.id] });
    expect(await auditSince(invited)).toMatchObject([
      { action: "user.invite_accepted", actorUserId: null, actorLabel: "new.staff@example.test", targetId: user.id, ip: "192.0.2.7" },
    ]);
    expect(await lookupInvite(token)).toEqual({ status: "used" });
    const used = await snapshot();
    const again = acceptInvite(acceptInviteSchema.parse({ token, name: "Twice", password: "staff password" }), null);
    await expect(again).rejects.toMatchObject({ code: "invalid", message: "This invite link has already been used. Sign in instead." });
    await expectUnchanged(used);
    expect(await verifyCredentials({ email: "new.staff@example.test", password: "staff password" }, null)).not.toBeNull();
  });

  it("refuses an expired invite and changes nothing", async () => {
    const admin = await makeUser("admin");
    const { token } = await createInvite(admin, inviteSchema.parse({ email: "late@example.test", role: "lite" }));
    await db()
      .update(invites)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(invites.email, "late@example.test"));
    expect(await lookupInvite(token)).toEqual({ status: "expired" });
    const before = await snapshot();
    await expect(acceptInvite(acceptInviteSchema.parse({ token, name: "Late", password: "late password" }), null)).rejects.toMatchObject({
      code: "invalid",
      message: "This invite link has expired. Ask an admin for a new one.",
    });
    await expectUnchanged(before);
  });

  it("refuses an unknown token", async () => {
    expect(await lookupInvite("not-a-real-token")).toEqual({ status: "unknown" });
    const before = await snapshot();
    await expect(acceptInvite({ token: "not-a-real-token", name: "X", password: "whatever1" }, null)).rejects.toMatchObject({
      code: "invalid",
      message: "This invite link is not valid. Ask an admin for a new one.",
    });
    await expectUnchanged(before);
  });

  it.each(["staff", "read_only", "lite"] as const)("refuses invites and the user list to %s", async (role) => {
    const actor = await makeUser(role);
    const before = await snapshot();
    const refused = { code: "forbidden", message: "You do not have permission to do that." };
    await expect(createInvite(actor, { email: "x@example.test", role: "staff" })).rejects.toMatchObject(refused);
    await expect(listUsers(actor)).rejects.toMatchObject(refused);
    await expectUnchanged(before);
  });

  it("refuses an invite for an email that already has an account", async () => {
    const admin = await makeUser("admin");
    const before = await snapshot();
    await expect(createInvite(admin, { email: "olive@example.test", role: "staff" })).rejects.toMatchObject({
      code: "conflict",
      field: "email",
      message: "A user with this email already exists.",
    });
    await expectUnchanged(before);
  });

  it("never grants Owner by invite (a forged role is refused by the schema and the service)", async () => {
    const parsed = inviteSchema.safeParse({ email: "boss@example.test", role: "owner" });
    expect(parsed.success).toBe(false);
    const owner = (await db().select().from(users).where(eq(users.role, "owner")))[0]!;
    const actor = { userId: owner.id, email: owner.email, name: owner.name, role: owner.role, ip: null, confirmedAt: new Date() };
    const before = await snapshot();
    await expect(createInvite(actor, { email: "boss@example.test", role: "owner" as never })).rejects.toMatchObject({
      code: "forbidden",
      message: "Nobody can be invited as Owner.",
    });
    await expectUnchanged(before);
  });
});

describe("bad input on the account forms", () => {
  it.each([
    [{ name: "", email: "a@b.co", password: "12345678" }, "name"],
    [{ name: "   ", email: "a@b.co", password: "12345678" }, "name"],
    [{ name: "x".repeat(101), email: "a@b.co", password: "12345678" }, "name"],
    [{ name: "Tab\there", email: "a@b.co", password: "12345678" }, "name"],
    [{ name: "Ann", email: "", password: "12345678" }, "email"],
    [{ name: "Ann", email: "not-an-email", password: "12345678" }, "email"],
    [{ name: "Ann", email: `${"a".repeat(250)}@b.co`, password: "12345678" }, "email"],
    [{ name: "Ann", email: "a@b.co", password: "short" }, "password"],
    [{ name: "Ann", email: "a@b.co" }, "password"],
  ])("setup %j is refused on %s", (input, field) => {
    const parsed = setupSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path[0])).toContain(field);
    expect(parsed.error!.issues[0]!.message.length).toBeGreaterThan(5);
  });
});

describe("changing one's password", () => {
  it("needs the current password, then ends every other session, audited", async () => {
    const { changeOwnPassword } = await import("@/lib/users/password");
    const { hashPassword } = await import("@/lib/auth/password");
    const actor = await withSession(await makeUser("staff"));
    const other = await withSession(actor);
    await db()
      .update(users)
      .set({ passwordHash: await hashPassword("old password 1") })
      .where(eq(users.id, actor.userId));
    const [before] = await db().select().from(users).where(eq(users.id, actor.userId));

    const refusedAt = await snapshot();
    await expect(changeOwnPassword(actor, { current_password: "wrong", new_password: "new password 2" })).rejects.toMatchObject({
      code: "invalid",
      field: "current_password",
      message: "The current password is not correct.",
    });
    // Nothing changes but the failure in the audit log.
    await expectOnlyChanged(refusedAt, {});
    expect(await auditSince(refusedAt)).toMatchObject([
      { action: "user.password_change_failed", actorUserId: actor.userId, targetId: actor.userId },
    ]);
    const [unchanged] = await db().select().from(users).where(eq(users.id, actor.userId));
    expect(unchanged!.passwordHash).toBe(before!.passwordHash);
    expect(await findActiveSession(other.sessionId)).not.toBeNull();

    const changing = await snapshot();
    await changeOwnPassword(actor, { current_password: "old password 1", new_password: "new password 2" });
    await expectOnlyChanged(changing, { users: [actor.userId], sessions: [other.sessionId] });
    expect((await userRow(actor.userId))!.passwordHash).not.toBe(before!.passwordHash);
    expect(await auditSince(changing)).toMatchObject([
      { action: "user.password_changed", actorUserId: actor.userId, targetId: actor.userId, metadata: { other_sessions_ended: 1 } },
    ]);
    expect(await findActiveSession(other.sessionId)).toBeNull();
    expect(await findActiveSession(actor.sessionId)).not.toBeNull();
    expect(await verifyCredentials({ email: actor.email, password: "old password 1" }, null)).toBeNull();
    const signedIn = await verifyCredentials({ email: actor.email, password: "new password 2" }, null);
    expect(signedIn?.user.id).toBe(actor.userId);
    const audit = await db().select().from(auditLog).where(eq(auditLog.action, "user.password_changed"));
    expect(audit.map((a) => a.targetId)).toContain(actor.userId);
  });

  it("refuses a new password equal to the current one, or too short", async () => {
    const { changePasswordSchema } = await import("@/lib/validation/users");
    expect(changePasswordSchema.safeParse({ current_password: "same password", new_password: "same password" }).success).toBe(false);
    expect(changePasswordSchema.safeParse({ current_password: "x", new_password: "short" }).success).toBe(false);
  });
});
