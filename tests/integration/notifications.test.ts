/**
 * The notifications service (lib/notifications/service.ts): a person lists, counts and marks only
 * their own notices; another person's id, a malformed id and an API key are refused and change
 * nothing. The notices themselves come from the changes they describe (an admin disabling or
 * deleting a key, a role change), in the same transaction.
 */
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifications } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { ServiceError } from "@/lib/errors";
import { deleteApiKeyAsAdmin, setApiKeyStatusAsAdmin } from "@/lib/keys/admin";
import { createApiKey } from "@/lib/keys/service";
import {
  countUnreadNotifications,
  listOwnNotifications,
  markAllNotificationsRead,
  markNotificationRead,
  NOTIFICATION_NOT_FOUND,
} from "@/lib/notifications/service";
import { notify } from "@/lib/notifications/notify";
import { db } from "@/lib/runtime";
import { changeRole } from "@/lib/users/roles";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

const allRows = () => db().select().from(notifications).orderBy(asc(notifications.id));

async function refusal(call: Promise<unknown>): Promise<ServiceError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceError);
  return error as ServiceError;
}

const throughKey = (actor: Actor): Actor => ({ ...actor, apiKey: { id: crypto.randomUUID(), name: "ci", accessLevel: "read_write" } });

describe("notifications", () => {
  it("lists a person's own notices, newest first, worded, with the unread count; nobody else's", async () => {
    const admin = await makeUser("admin", { name: "Ada Admin" });
    const staff = await makeUser("staff");
    const other = await makeUser("staff");
    const { key: first } = await createApiKey(staff, { name: "first", access_level: "read_write", expires_at: null });
    const { key: second } = await createApiKey(staff, { name: "second", access_level: "read_only", expires_at: null });
    await createApiKey(other, { name: "theirs", access_level: "read_only", expires_at: null });
    await setApiKeyStatusAsAdmin(admin, first.id, "disabled");
    await deleteApiKeyAsAdmin(admin, second.id);
    await changeRole(admin, { userId: staff.userId, role: "read_only" });

    const list = await listOwnNotifications(staff);
    expect(list.unread).toBe(3);
    expect(list.entries.map((n) => [n.kind, n.title])).toEqual([
      ["role_changed", "Your role is now Read-only"],
      ["key_deleted_by_admin", 'Your API key "second" was deleted by an admin'],
      ["key_disabled_by_admin", 'Your API key "first" was disabled by an admin'],
    ]);
    expect(list.entries[0]!.body).toBe(
      'Ada Admin changed your role from Staff to Read-only. Your new role does not allow this key, which was deleted: "first".',
    );
    expect(list.entries[2]!.body).toContain("Ada Admin disabled it in the API Access Manager");
    // Only worded fields: no raw data, no ids of other rows.
    expect(Object.keys(list.entries[0]!).sort()).toEqual(["body", "createdAt", "id", "keyName", "kind", "readAt", "title"]);
    expect(await listOwnNotifications(other)).toEqual({ entries: [], unread: 0 });
    expect(await countUnreadNotifications(admin)).toBe(0);
  });

  it("marks one read (twice is fine), then all; counts follow", async () => {
    const person = await makeUser("staff");
    for (const name of ["a", "b", "c"]) await notify(db(), { userId: person.userId, kind: "key_expired", keyName: name });
    const { entries } = await listOwnNotifications(person);
    await markNotificationRead(person, entries[1]!.id);
    await markNotificationRead(person, entries[1]!.id);
    expect(await countUnreadNotifications(person)).toBe(2);
    const after = await listOwnNotifications(person);
    expect(after.entries.map((n) => n.readAt !== null)).toEqual([false, true, false]);
    expect(await markAllNotificationsRead(person)).toBe(2);
    expect(await markAllNotificationsRead(person)).toBe(0);
    expect(await countUnreadNotifications(person)).toBe(0);
  });

  it("refuses to mark another person's notice, or an id that is not one, and changes nothing", async () => {
    const owner = await makeUser("staff");
    const intruder = await makeUser("admin");
    await notify(db(), { userId: owner.userId, kind: "key_expired", keyName: "mine" });
    const [theirs] = await db().select().from(notifications).where(eq(notifications.userId, owner.userId));
    const before = await allRows();
    for (const id of [theirs!.id, crypto.randomUUID(), "not-a-uuid", "", "' or 1=1 --"]) {
      const error = await refusal(markNotificationRead(intruder, id));
      expect([error.code, error.message]).toEqual(["not_found", NOTIFICATION_NOT_FOUND]);
    }
    expect(await markAllNotificationsRead(intruder)).toBe(0);
    expect(await allRows()).toEqual(before);
  });

  it("is browser-only: every call through an API key is refused and changes nothing", async () => {
    const person = await makeUser("staff");
    await notify(db(), { userId: person.userId, kind: "key_expired", keyName: "k" });
    const [row] = await db().select().from(notifications).where(eq(notifications.userId, person.userId));
    const before = await allRows();
    const viaKey = throughKey(person);
    for (const call of [
      listOwnNotifications(viaKey),
      countUnreadNotifications(viaKey),
      markNotificationRead(viaKey, row!.id),
      markAllNotificationsRead(viaKey),
    ]) {
      const error = await refusal(call);
      expect([error.code, error.message]).toEqual(["forbidden", "Notifications are only shown in the browser."]);
    }
    expect(await allRows()).toEqual(before);
  });

  it("notify is idempotent by its dedupe key, per person", async () => {
    const person = await makeUser("staff");
    const other = await makeUser("staff");
    const notice = { kind: "key_expired" as const, keyName: "k", dedupeKey: "key_expired:same" };
    expect(await notify(db(), { ...notice, userId: person.userId })).toBe(true);
    expect(await notify(db(), { ...notice, userId: person.userId })).toBe(false);
    expect(await notify(db(), { ...notice, userId: other.userId })).toBe(true);
    expect(await countUnreadNotifications(person)).toBe(1);
  });
});
