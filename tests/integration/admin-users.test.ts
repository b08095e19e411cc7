import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/runtime";
import { apiKeys, auditLog, users, type AuditRow, type Role } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { announceKeyChange } from "@/lib/keys/revocation";
import { authenticateApiKey, createApiKey } from "@/lib/keys/service";
import { changeRole, previewRemoval, previewRoleChange, removeUser, transferOwnership } from "@/lib/users/roles";
import { findActiveSession } from "@/lib/auth/sessions";
import { createInvite, listPendingInvites, listUsers } from "@/lib/users/service";
import { changeRoleSchema, userIdSchema } from "@/lib/validation/admin";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, makeUser, snapshot, userRow, withSession } from "../helpers/fixtures";

vi.mock("@/lib/keys/revocation", async (importOriginal) => {
  const original = await importOriginal<typeof import("@/lib/keys/revocation")>();
  return { ...original, announceKeyChange: vi.fn(original.announceKeyChange) };
});

let teardown: () => Promise<void>;
let owner: Actor;
let admin: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner", { name: "Olive Owner" });
  admin = await makeUser("admin", { name: "Adam Admin" });
});
afterAll(() => teardown());

let n = 0;
/** A user with one Read & Write and one Read-only key (fewer when the role allows fewer). */
async function userWithKeys(role: Role) {
  const user = await makeUser(role);
  const keys: { id: string; name: string; secret: string; level: "read_only" | "read_write" }[] = [];
  const levels = role === "lite" ? [] : role === "read_only" ? (["read_only"] as const) : (["read_write", "read_only"] as const);
  for (const level of levels) {
    const name = `${level} key ${++n}`;
    const { key, secret } = await createApiKey(user, { name, access_level: level });
    keys.push({ id: key.id, name, secret, level });
  }
  return { user, keys };
}

async function roleOf(userId: string): Promise<Role | undefined> {
  const [row] = await db().select({ role: users.role }).from(users).where(eq(users.id, userId));
  return row?.role;
}

async function keyNamesOf(userId: string): Promise<string[]> {
  const rows = await db().select({ name: apiKeys.name }).from(apiKeys).where(eq(apiKeys.userId, userId)).orderBy(apiKeys.name);
  return rows.map((r) => r.name);
}

async function auditFor(targetId: string) {
  return db().select().from(auditLog).where(eq(auditLog.targetId, targetId)).orderBy(auditLog.id);
}

/** The audit rows' action, actor and target, in order: what a change recorded, and as whom. */
function actionsSince(rows: AuditRow[]): [string, string | null, string | null][] {
  return rows.map((r) => [r.action, r.actorUserId, r.targetId]);
}

/** Makes the next audit row with `action` fail to insert, so the transaction writing it rolls back. */
async function failingAudit<T>(action: string, fn: () => Promise<T>): Promise<void> {
  await db().execute(sql.raw(`alter table audit_log add constraint test_fail_midway check (action <> '${action}') not valid`));
  try {
    await expect(fn()).rejects.toThrow();
  } finally {
    await db().execute(sql.raw(`alter table audit_log drop constraint test_fail_midway`));
  }
}

describe("downgrade rules", () => {
  it("to Read-only deletes only the Read & Write keys, audited key by key, and the deleted key stops working", async () => {
    const { user, keys } = await userWithKeys("staff");
    const [rw, ro] = keys;
    const preview = await previewRoleChange(admin, user.userId, "read_only");
    expect(preview.keysToDelete.map((k) => k.name)).toEqual([rw!.name]);

    const result = await changeRole(admin, { userId: user.userId, role: "read_only", confirmedKeyIds: [rw!.id] });
    expect(result).toMatchObject({ from: "staff", deletedKeys: [rw!.name], user: { role: "read_only" } });
    expect(await roleOf(user.userId)).toBe("read_only");
    expect(await keyNamesOf(user.userId)).toEqual([ro!.name]);
    expect(await authenticateApiKey(rw!.secret, null)).toBeNull();
    expect(await authenticateApiKey(ro!.secret, null)).toMatchObject({ user: { role: "read_only" } });

    const [changed] = await auditFor(user.userId);
    expect(changed).toMatchObject({ action: "user.role_changed", actorUserId: admin.userId, targetLabel: user.email, ip: "127.0.0.1" });
    expect(changed!.metadata).toEqual({ from: "staff", to: "read_only", deleted_keys: [rw!.name] });
    const deleted = (await auditFor(rw!.id)).find((r) => r.action === "api_key.deleted");
    expect(deleted).toMatchObject({ action: "api_key.deleted", targetLabel: rw!.name });
    expect(deleted!.metadata).toMatchObject({ reason: "role_change", key_owner: user.email });
  });

  it("to Lite deletes every key", async () => {
    const { user, keys } = await userWithKeys("staff");
    const preview = await previewRoleChange(owner, user.userId, "lite");
    expect(preview.keysToDelete.map((k) => k.name).sort()).toEqual(keys.map((k) => k.name).sort());
    const before = await snapshot();
    await changeRole(owner, { userId: user.userId, role: "lite" });
    expect(await roleOf(user.userId)).toBe("lite");
    expect(await keyNamesOf(user.userId)).toEqual([]);
    await expectOnlyChanged(before, { users: [user.userId], api_keys: keys.map((k) => k.id) });
    expect(actionsSince(await auditSince(before))).toEqual([
      ...keys.map((k) => ["api_key.deleted", owner.userId, k.id]),
      ["user.role_changed", owner.userId, user.userId],
    ]);
    for (const key of keys) expect(await authenticateApiKey(key.secret, null)).toBeNull();
    expect((await auditFor(user.userId))[0]!.metadata).toMatchObject({ from: "staff", to: "lite" });
  });

  it.each([
    ["read_only", "staff"],
    ["read_only", "admin"],
    ["staff", "admin"],
    ["admin", "staff"],
    ["lite", "read_only"],
  ] as const)("%s -> %s deletes nothing", async (from, to) => {
    const { user, keys } = await userWithKeys(from);
    expect((await previewRoleChange(owner, user.userId, to)).keysToDelete).toEqual([]);
    const before = await snapshot();
    const result = await changeRole(owner, { userId: user.userId, role: to });
    expect(result.deletedKeys).toEqual([]);
    expect(await roleOf(user.userId)).toBe(to);
    expect(await keyNamesOf(user.userId)).toEqual(keys.map((k) => k.name).sort());
    await expectOnlyChanged(before, { users: [user.userId] });
    const audit = await auditSince(before);
    expect(actionsSince(audit)).toEqual([["user.role_changed", owner.userId, user.userId]]);
    expect(audit[0]!.metadata).toEqual({ from, to, deleted_keys: [] });
  });

  it("announces the change inside its transaction, for every key of the user", async () => {
    const { user } = await userWithKeys("staff");
    vi.mocked(announceKeyChange).mockClear();
    await changeRole(admin, { userId: user.userId, role: "read_only" });
    expect(vi.mocked(announceKeyChange)).toHaveBeenCalledWith(expect.anything(), { userId: user.userId });
    expect(vi.mocked(announceKeyChange).mock.calls[0]![0]).not.toBe(db());
  });

  it("takes effect on the next request without ending the user's sessions", async () => {
    const { user } = await userWithKeys("staff");
    const { sessionId } = await withSession(user);
    await changeRole(admin, { userId: user.userId, role: "read_only" });
    expect(await findActiveSession(sessionId)).toMatchObject({ role: "read_only" });
  });

  it("changing to the same role is a no-op, with no audit row", async () => {
    const { user } = await userWithKeys("staff");
    const before = await snapshot();
    await expect(changeRole(admin, { userId: user.userId, role: "staff" })).resolves.toMatchObject({ deletedKeys: [] });
    await expectUnchanged(before);
  });

  it("refuses to delete a key the confirmation did not list (created since), and changes nothing", async () => {
    const { user, keys } = await userWithKeys("staff");
    const seen = (await previewRoleChange(admin, user.userId, "read_only")).keysToDelete.map((k) => k.id);
    await createApiKey(user, { name: "created meanwhile", access_level: "read_write" });
    const before = await snapshot();
    await expect(changeRole(admin, { userId: user.userId, role: "read_only", confirmedKeyIds: seen })).rejects.toMatchObject({
      code: "conflict",
      message: expect.stringContaining("created meanwhile"),
    });
    await expectUnchanged(before);
    expect(await roleOf(user.userId)).toBe("staff");
    expect(await keyNamesOf(user.userId)).toEqual([...keys.map((k) => k.name), "created meanwhile"].sort());
  });
});

describe("one transaction: a failure midway leaves the role and the keys as they were", () => {
  it("role change", async () => {
    const { user, keys } = await userWithKeys("staff");
    const before = await snapshot();
    // The role is updated and the keys deleted before the role_changed row fails to insert.
    await failingAudit("user.role_changed", () => changeRole(admin, { userId: user.userId, role: "lite" }));
    expect(await roleOf(user.userId)).toBe("staff");
    expect(await keyNamesOf(user.userId)).toEqual(keys.map((k) => k.name).sort());
    await expectUnchanged(before);
    for (const key of keys) expect(await authenticateApiKey(key.secret, null)).not.toBeNull();
  });

  it("removal", async () => {
    const { user, keys } = await userWithKeys("staff");
    await withSession(user);
    const before = await snapshot();
    await failingAudit("user.removed", () => removeUser(admin, user.userId));
    expect(await roleOf(user.userId)).toBe("staff");
    expect(await keyNamesOf(user.userId)).toEqual(keys.map((k) => k.name).sort());
    await expectUnchanged(before);
  });

  it("ownership transfer", async () => {
    const target = await makeUser("admin");
    const before = await snapshot();
    await failingAudit("user.ownership_transferred", () => transferOwnership(owner, target.userId));
    expect(await roleOf(owner.userId)).toBe("owner");
    expect(await roleOf(target.userId)).toBe("admin");
    await expectUnchanged(before);
  });
});

describe("who may change whom (every action against every role)", () => {
  const ACTORS = ["owner", "admin", "staff", "read_only", "lite"] as const;
  const actorFor = async (role: (typeof ACTORS)[number]) => (role === "owner" ? owner : role === "admin" ? admin : makeUser(role));

  for (const role of ACTORS) {
    const allowed = role === "owner" || role === "admin";
    it(`${role} ${allowed ? "may" : "may not"} preview, change the role of and remove a Staff user`, async () => {
      const actor = await actorFor(role);
      const { user, keys } = await userWithKeys("staff");
      const [rw, ro] = keys;
      const { sessionId } = await withSession(user);
      const before = await snapshot();
      if (allowed) {
        // The previews show what would happen and change nothing.
        await expect(previewRoleChange(actor, user.userId, "lite")).resolves.toMatchObject({
          keysToDelete: [{ id: rw!.id }, { id: ro!.id }],
        });
        await expect(previewRemoval(actor, user.userId)).resolves.toMatchObject({ keysToDelete: [{ id: rw!.id }, { id: ro!.id }] });
        await expectUnchanged(before);

        await changeRole(actor, { userId: user.userId, role: "read_only" });
        expect(await roleOf(user.userId)).toBe("read_only");
        expect(await keyNamesOf(user.userId)).toEqual([ro!.name]);
        await expectOnlyChanged(before, { users: [user.userId], api_keys: [rw!.id] });
        expect(actionsSince(await auditSince(before))).toEqual([
          ["api_key.deleted", actor.userId, rw!.id],
          ["user.role_changed", actor.userId, user.userId],
        ]);

        const changed = await snapshot();
        await removeUser(actor, user.userId);
        expect(await userRow(user.userId)).toBeUndefined();
        expect(await keyNamesOf(user.userId)).toEqual([]);
        expect(await findActiveSession(sessionId)).toBeNull();
        await expectOnlyChanged(changed, { users: [user.userId], api_keys: [ro!.id], sessions: [sessionId] });
        expect(actionsSince(await auditSince(changed))).toEqual([
          ["api_key.deleted", actor.userId, ro!.id],
          ["user.removed", actor.userId, user.userId],
        ]);
        return;
      }
      const refused = { code: "forbidden", message: "You do not have permission to do that." };
      await expect(previewRoleChange(actor, user.userId, "lite")).rejects.toMatchObject(refused);
      await expect(previewRemoval(actor, user.userId)).rejects.toMatchObject(refused);
      await expect(changeRole(actor, { userId: user.userId, role: "lite" })).rejects.toMatchObject(refused);
      await expect(removeUser(actor, user.userId)).rejects.toMatchObject(refused);
      await expect(transferOwnership(actor, user.userId)).rejects.toMatchObject({
        code: "forbidden",
        message: "Only the Owner can transfer ownership.",
      });
      await expectUnchanged(before);
    });
  }

  it.each(["admin", "staff", "read_only", "lite"] as const)("an Admin may not transfer ownership to a %s user", async (role) => {
    const target = await makeUser(role);
    const before = await snapshot();
    await expect(transferOwnership(admin, target.userId)).rejects.toMatchObject({
      code: "forbidden",
      message: "Only the Owner can transfer ownership.",
    });
    expect(await roleOf(target.userId)).toBe(role);
    await expectUnchanged(before);
  });

  it.each(["admin", "staff", "read_only", "lite"] as const)(
    "an Admin may not change the Owner's role to %s, nor remove the Owner",
    async (role) => {
      const before = await snapshot();
      const roleByTransfer = { code: "forbidden", message: "The Owner's role changes only by transferring ownership." };
      await expect(changeRole(admin, { userId: owner.userId, role })).rejects.toMatchObject(roleByTransfer);
      await expect(previewRoleChange(admin, owner.userId, role)).rejects.toMatchObject(roleByTransfer);
      await expect(removeUser(admin, owner.userId)).rejects.toMatchObject({
        code: "forbidden",
        message: "The Owner cannot be removed. The Owner can transfer ownership first.",
      });
      expect(await roleOf(owner.userId)).toBe("owner");
      await expectUnchanged(before);
    },
  );

  it.each([
    ["an Admin", () => admin],
    ["the Owner", () => owner],
  ])("%s may not make anyone Owner through a role change (ownership moves by transfer)", async (_who, actor) => {
    const target = await makeUser("admin");
    const before = await snapshot();
    await expect(changeRole(actor(), { userId: target.userId, role: "owner" })).rejects.toMatchObject({
      code: "forbidden",
      message: expect.stringContaining("transfer"),
    });
    expect(await roleOf(target.userId)).toBe("admin");
    await expectUnchanged(before);
  });

  it("nobody changes their own role or removes themselves; the Owner cannot be removed at all", async () => {
    const before = await snapshot();
    await expect(changeRole(admin, { userId: admin.userId, role: "staff" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(removeUser(admin, admin.userId)).rejects.toMatchObject({ code: "forbidden", message: "You cannot remove yourself." });
    await expect(changeRole(owner, { userId: owner.userId, role: "admin" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(removeUser(owner, owner.userId)).rejects.toMatchObject({ code: "forbidden" });
    expect(await roleOf(owner.userId)).toBe("owner");
    expect(await roleOf(admin.userId)).toBe("admin");
    await expectUnchanged(before);
  });

  it("an Admin may change and remove another Admin", async () => {
    const { user: other, keys } = await userWithKeys("admin");
    const before = await snapshot();
    await changeRole(admin, { userId: other.userId, role: "staff" });
    expect(await roleOf(other.userId)).toBe("staff");
    await expectOnlyChanged(before, { users: [other.userId] });
    expect(actionsSince(await auditSince(before))).toEqual([["user.role_changed", admin.userId, other.userId]]);

    const changed = await snapshot();
    await removeUser(admin, other.userId);
    expect(await userRow(other.userId)).toBeUndefined();
    await expectOnlyChanged(changed, { users: [other.userId], api_keys: keys.map((k) => k.id) });
    expect(actionsSince(await auditSince(changed))).toEqual([
      ...keys.map((k) => ["api_key.deleted", admin.userId, k.id]),
      ["user.removed", admin.userId, other.userId],
    ]);
  });

  it.each(["not-a-uuid", "00000000-0000-4000-8000-000000000000"])(
    "answers not found for an unknown user %j, changing nothing",
    async (id) => {
      const before = await snapshot();
      const notFound = { code: "not_found", message: "User not found." };
      await expect(changeRole(admin, { userId: id, role: "staff" })).rejects.toMatchObject(notFound);
      await expect(removeUser(admin, id)).rejects.toMatchObject(notFound);
      await expect(previewRoleChange(admin, id, "staff")).rejects.toMatchObject(notFound);
      await expect(transferOwnership(owner, id)).rejects.toMatchObject(notFound);
      await expectUnchanged(before);
    },
  );

  it("refuses an admin acting through an API key, for every user-management service", async () => {
    const { user } = await userWithKeys("staff");
    const viaKey = { ...admin, apiKey: { id: "00000000-0000-4000-8000-000000000001", name: "k", accessLevel: "read_write" as const } };
    const before = await snapshot();
    await expect(changeRole(viaKey, { userId: user.userId, role: "lite" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(removeUser(viaKey, user.userId)).rejects.toMatchObject({ code: "forbidden" });
    await expect(transferOwnership({ ...owner, apiKey: viaKey.apiKey }, user.userId)).rejects.toMatchObject({ code: "forbidden" });
    // These three skipped the browser-only rule before authorize() was the one check.
    await expect(listUsers(viaKey)).rejects.toMatchObject({ code: "forbidden", message: "Users are only managed in the browser." });
    await expect(listPendingInvites(viaKey)).rejects.toMatchObject({ code: "forbidden" });
    await expect(createInvite(viaKey, { email: "via-key@example.test", role: "staff" })).rejects.toMatchObject({ code: "forbidden" });
    await expectUnchanged(before);
  });
});

describe("bad input to the forms", () => {
  it.each([
    [{ userId: "x", role: "staff" }, "userId"],
    [{ userId: "00000000-0000-4000-8000-000000000000", role: "superuser" }, "role"],
    [{ userId: "00000000-0000-4000-8000-000000000000", role: "" }, "role"],
    [{ userId: "00000000-0000-4000-8000-000000000000", role: "staff", confirmedKeyIds: ["not-a-uuid"] }, "confirmedKeyIds"],
    [{ role: "staff" }, "userId"],
  ])("change role %j is refused on %s", (input, field) => {
    const parsed = changeRoleSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path[0])).toContain(field);
  });

  it("accepts an empty list of confirmed keys", () => {
    expect(
      changeRoleSchema.parse({ userId: "00000000-0000-4000-8000-000000000000", role: "lite", confirmedKeyIds: [] }).confirmedKeyIds,
    ).toEqual([]);
    expect(userIdSchema.safeParse({ userId: "'; drop table users; --" }).success).toBe(false);
  });
});

describe("removing a user", () => {
  it("deletes their keys, ends their sessions, and audits the removal and each key", async () => {
    const { user, keys } = await userWithKeys("staff");
    const { sessionId } = await withSession(user);
    vi.mocked(announceKeyChange).mockClear();
    const before = await snapshot();
    const result = await removeUser(admin, user.userId);
    await expectOnlyChanged(before, { users: [user.userId], api_keys: keys.map((k) => k.id), sessions: [sessionId] });
    expect(result.deletedKeys.sort()).toEqual(keys.map((k) => k.name).sort());
    expect(await roleOf(user.userId)).toBeUndefined();
    expect(await db().select().from(apiKeys).where(eq(apiKeys.userId, user.userId))).toEqual([]);
    expect(await findActiveSession(sessionId)).toBeNull();
    for (const key of keys) expect(await authenticateApiKey(key.secret, null)).toBeNull();
    expect(vi.mocked(announceKeyChange)).toHaveBeenCalledWith(expect.anything(), { userId: user.userId });

    const [removed] = await auditFor(user.userId);
    expect(removed).toMatchObject({ action: "user.removed", actorUserId: admin.userId, targetLabel: user.email });
    expect(removed!.metadata).toMatchObject({ role: "staff" });
    const keyRows = await db()
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.action, "api_key.deleted"),
          sql`${auditLog.metadata}->>'reason' = 'user_removed'`,
          sql`${auditLog.metadata}->>'key_owner' = ${user.email}`,
        ),
      );
    expect(keyRows).toHaveLength(keys.length);
  });

  it("lists the keys it will delete before anything happens", async () => {
    const { user, keys } = await userWithKeys("read_only");
    const before = await snapshot();
    const preview = await previewRemoval(owner, user.userId);
    expect(preview.keysToDelete.map((k) => k.name)).toEqual(keys.map((k) => k.name));
    await expectUnchanged(before);
  });
});

describe("transferring ownership", () => {
  it("makes the target the Owner and the old Owner an Admin, in one step, audited; there is still exactly one Owner", async () => {
    const heir = await makeUser("staff", { name: "Harriet Heir" });
    vi.mocked(announceKeyChange).mockClear();
    const before = await snapshot();
    await expect(transferOwnership(owner, heir.userId)).resolves.toMatchObject({ name: "Harriet Heir" });
    await expectOnlyChanged(before, { users: [owner.userId, heir.userId] });
    expect(actionsSince(await auditSince(before))).toEqual([["user.ownership_transferred", owner.userId, heir.userId]]);
    expect(await roleOf(heir.userId)).toBe("owner");
    expect(await roleOf(owner.userId)).toBe("admin");
    expect(await db().select().from(users).where(eq(users.role, "owner"))).toHaveLength(1);
    expect(vi.mocked(announceKeyChange)).toHaveBeenCalledTimes(2);
    const [row] = await auditFor(heir.userId);
    expect(row).toMatchObject({ action: "user.ownership_transferred", actorUserId: owner.userId });
    expect(row!.metadata).toMatchObject({ from: owner.email, to: heir.email, previous_role: "staff" });

    // The old Owner's session still says Owner until its next request; the row decides.
    const transferred = await snapshot();
    await expect(transferOwnership(owner, admin.userId)).rejects.toMatchObject({
      code: "forbidden",
      message: "Only the Owner can transfer ownership.",
    });
    expect(await roleOf(admin.userId)).toBe("admin");
    await expectUnchanged(transferred);

    // And back, by the new Owner.
    const heirActor = { ...heir, role: "owner" as const };
    await transferOwnership(heirActor, owner.userId);
    expect(await roleOf(owner.userId)).toBe("owner");
    expect(await roleOf(heir.userId)).toBe("admin");
  });

  it("refuses a transfer to oneself", async () => {
    const before = await snapshot();
    await expect(transferOwnership(owner, owner.userId)).rejects.toMatchObject({ code: "invalid", message: "You are already the Owner." });
    expect(await roleOf(owner.userId)).toBe("owner");
    await expectUnchanged(before);
  });
});

describe("the Users page list", () => {
  it("counts each user's keys", async () => {
    const { user, keys } = await userWithKeys("staff");
    const { user: lite } = await userWithKeys("lite");
    const list = await listUsers(admin);
    expect(list.find((u) => u.id === user.userId)?.keyCount).toBe(keys.length);
    expect(list.find((u) => u.id === lite.userId)?.keyCount).toBe(0);
    expect(list.find((u) => u.id === user.userId)).not.toHaveProperty("passwordHash");
  });
});
