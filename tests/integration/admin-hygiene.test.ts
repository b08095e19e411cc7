import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, notifications } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { deleteApiKeyAsAdmin, deleteApiKeysAsAdmin, disableApiKeysAsAdmin, listApiKeysForAdmin, type AdminKeyRow } from "@/lib/keys/admin";
import { latestAllowedExpiry } from "@/lib/keys/expiry";
import { authenticateApiKey, createApiKey } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { updateKeyPolicy } from "@/lib/settings/service";
import { parseAccessManagerQuery } from "@/lib/validation/admin";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, keyRow, makeUser, snapshot } from "../helpers/fixtures";

/**
 * SPEC §11's hygiene in the Access Manager: the Expires, Last used, Status (Expired) and Over
 * policy filters, and Disable selected / Delete selected.
 */

let teardown: () => Promise<void>;
let owner: Actor, admin: Actor, staff: Actor, reader: Actor, lite: Actor;
const secrets = new Map<string, string>();
const ids = new Map<string, string>();
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

async function key(actor: Actor, name: string, set: { expiresAt?: Date | null; lastUsedAt?: Date | null } = {}) {
  // Created as the policy allows, then given its times directly: a key cannot be created already
  // expired, nor used months ago.
  const { key, secret } = await createApiKey(actor, { name, access_level: "read_only" });
  await db()
    .update(apiKeys)
    .set({ expiresAt: set.expiresAt ?? null, lastUsedAt: set.lastUsedAt ?? null, lastUsedIp: set.lastUsedAt ? "203.0.113.7" : null })
    .where(eq(apiKeys.id, key.id));
  secrets.set(name, secret);
  ids.set(name, key.id);
  return key.id;
}

const at = (ms: number) => new Date(Date.now() + ms);

beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner", { name: "Olive Owner", email: "olive@example.test" });
  admin = await makeUser("admin", { name: "Adam Admin", email: "adam@example.test" });
  staff = await makeUser("staff", { name: "Sam Staff", email: "sam@example.test" });
  reader = await makeUser("read_only", { name: "Rita Reader", email: "rita@example.test" });
  lite = await makeUser("lite", { name: "Lee Lite", email: "lee@example.test" });
  await key(staff, "expired an hour ago", { expiresAt: at(-60 * MINUTE), lastUsedAt: at(-2 * DAY) });
  await key(staff, "expired and disabled", { expiresAt: at(-DAY) });
  await db()
    .update(apiKeys)
    .set({ status: "disabled" })
    .where(eq(apiKeys.id, ids.get("expired and disabled")!));
  await key(staff, "in 3 days", { expiresAt: at(3 * DAY), lastUsedAt: at(-10 * DAY) });
  await key(staff, "in 7 days less a minute", { expiresAt: at(7 * DAY - MINUTE) });
  await key(staff, "in 8 days", { expiresAt: at(8 * DAY), lastUsedAt: at(-40 * DAY) });
  await key(reader, "in 29 days", { expiresAt: at(29 * DAY), lastUsedAt: at(-100 * DAY) });
  await key(reader, "in 31 days", { expiresAt: at(31 * DAY), lastUsedAt: at(-31 * DAY) });
  await key(reader, "never expires", { expiresAt: null, lastUsedAt: at(-89 * DAY) });
  await key(owner, "owner never expires");
});
afterAll(() => teardown());

async function names(params: Record<string, string>): Promise<string[]> {
  const page = await listApiKeysForAdmin(admin, parseAccessManagerQuery({ ...params, size: "100" }));
  expect(page.total).toBe(page.rows.length);
  return page.rows.map((r) => r.name).sort();
}

async function rowOf(name: string): Promise<AdminKeyRow> {
  const page = await listApiKeysForAdmin(admin, parseAccessManagerQuery({ q: name, size: "100" }));
  return page.rows.find((r) => r.name === name)!;
}

describe("filters", () => {
  it.each([
    [{ expires: "expired" }, ["expired an hour ago", "expired and disabled"]],
    [{ expires: "7d" }, ["in 3 days", "in 7 days less a minute"]],
    [{ expires: "30d" }, ["in 29 days", "in 3 days", "in 7 days less a minute", "in 8 days"]],
    [{ expires: "never" }, ["never expires", "owner never expires"]],
    [{ last_used: "never" }, ["expired and disabled", "in 7 days less a minute", "owner never expires"]],
    [{ last_used: "30d" }, ["in 29 days", "in 31 days", "in 8 days", "never expires"]],
    [{ last_used: "90d" }, ["in 29 days"]],
    [{ status: "expired" }, ["expired an hour ago"]],
    [{ status: "disabled" }, ["expired and disabled"]],
    [
      { status: "active" },
      ["in 29 days", "in 3 days", "in 31 days", "in 7 days less a minute", "in 8 days", "never expires", "owner never expires"],
    ],
    [{ expires: "expired", status: "disabled" }, ["expired and disabled"]],
    [{ expires: "30d", last_used: "30d" }, ["in 29 days", "in 8 days"]],
    [{ expires: "never", role: "owner" }, ["owner never expires"]],
    // A search goes through the same conditions.
    [{ q: "days", expires: "7d" }, ["in 3 days", "in 7 days less a minute"]],
    [{ q: "sam@", last_used: "never" }, ["expired and disabled", "in 7 days less a minute"]],
  ])("%j", async (filter, expected) => {
    expect(await names(filter)).toEqual(expected);
  });

  it("shows each key's expiry, last used IP and disabled reason, and Expired as its own status", async () => {
    const expired = await rowOf("expired an hour ago");
    expect(expired).toMatchObject({
      status: "active",
      state: "expired",
      lastUsedIp: "203.0.113.7",
      disabledReason: null,
      overPolicy: false,
    });
    expect(expired.expiresAt!.getTime()).toBeLessThan(Date.now());
    expect(await rowOf("never expires")).toMatchObject({ state: "active", expiresAt: null, lastUsedIp: "203.0.113.7" });
    expect(await rowOf("expired and disabled")).toMatchObject({ status: "disabled", state: "disabled" });
    expect(await rowOf("owner never expires")).toMatchObject({ lastUsedAt: null, lastUsedIp: null });
  });

  it("sorts by Expires: soonest first and never-expiring last, or exactly the reverse", async () => {
    const asc = await listApiKeysForAdmin(admin, parseAccessManagerQuery({ sort: "expiresAt", dir: "asc" }));
    const desc = await listApiKeysForAdmin(admin, parseAccessManagerQuery({ sort: "expiresAt", dir: "desc" }));
    expect(asc.rows.map((r) => r.name).slice(0, 3)).toEqual(["expired and disabled", "expired an hour ago", "in 3 days"]);
    expect(asc.rows.slice(-2).every((r) => r.expiresAt === null)).toBe(true);
    expect(desc.rows.map((r) => r.id)).toEqual([...asc.rows].reverse().map((r) => r.id));
  });

  it.each([
    [{ expires: "soon" }, { expires: undefined }],
    [{ expires: ["never", "7d"] }, { expires: "never" }],
    [{ last_used: "yesterday" }, { last_used: undefined }],
    [{ over_policy: "yes" }, { over_policy: undefined }],
    [{ over_policy: "1" }, { over_policy: true }],
    [{ status: "expired" }, { status: "expired" }],
    [{ sort: "expiresAt" }, { sort: "expiresAt" }],
  ])("URL state %j -> %j", (raw, expected) => {
    expect(parseAccessManagerQuery(raw)).toMatchObject(expected);
  });
});

describe("Over policy", () => {
  afterAll(() => updateKeyPolicy(owner, { max_key_lifetime_days: null, disable_unused_after_days: null }));

  it("matches nothing without a Maximum key lifetime", async () => {
    await updateKeyPolicy(owner, { max_key_lifetime_days: null, disable_unused_after_days: null });
    expect(await names({ over_policy: "1" })).toEqual([]);
    expect((await rowOf("never expires")).overPolicy).toBe(false);
  });

  it("at the policy's boundary: the latest allowed expiry is within, a second later is over; never expiring is over", async () => {
    await updateKeyPolicy(owner, { max_key_lifetime_days: 30, disable_unused_after_days: null });
    // The boundary moves with the clock (the end of the UTC day 30 days from now); a minute of
    // margin keeps "within" within while the test runs, unless it runs across midnight UTC.
    const latest = latestAllowedExpiry(30, new Date())!;
    await key(staff, "boundary: last allowed second", { expiresAt: latest });
    await key(staff, "boundary: a second over", { expiresAt: new Date(latest.getTime() + 1000) });
    expect(await names({ over_policy: "1" })).toEqual(["boundary: a second over", "in 31 days", "never expires", "owner never expires"]);
    expect((await rowOf("boundary: last allowed second")).overPolicy).toBe(false);
    expect((await rowOf("boundary: a second over")).overPolicy).toBe(true);
    expect((await rowOf("in 29 days")).overPolicy).toBe(false);
    expect(await names({ over_policy: "1", role: "owner" })).toEqual(["owner never expires"]);

    await updateKeyPolicy(owner, { max_key_lifetime_days: 365, disable_unused_after_days: null });
    expect(await names({ over_policy: "1" })).toEqual(["never expires", "owner never expires"]);
    // Lowering the limit deleted and disabled nothing.
    expect(await authenticateApiKey(secrets.get("never expires")!, null)).not.toBeNull();
  });
});

describe("Disable selected and Delete selected", () => {
  const notices = (keyIds: string[]) =>
    db()
      .select({ userId: notifications.userId, kind: notifications.kind, keyId: notifications.keyId, keyName: notifications.keyName })
      .from(notifications)
      .where(inArray(notifications.keyId, keyIds));

  it.each([
    ["staff", () => staff],
    ["read_only", () => reader],
    ["lite", () => lite],
  ] as const)("%s is refused both, and nothing changes", async (_role, actorOf) => {
    const target = await key(reader, `bulk refused ${_role}`);
    const before = await snapshot();
    const refused = { code: "forbidden", message: "You do not have permission to do that." };
    await expect(disableApiKeysAsAdmin(actorOf(), { ids: [target] })).rejects.toMatchObject(refused);
    await expect(deleteApiKeysAsAdmin(actorOf(), { ids: [target] })).rejects.toMatchObject(refused);
    await expectUnchanged(before);
    expect(await notices([target])).toEqual([]);
  });

  it("refuses an admin acting through an API key", async () => {
    const target = await key(reader, "bulk via a key");
    const viaKey: Actor = { ...admin, apiKey: { id: "00000000-0000-4000-8000-000000000000", name: "x", accessLevel: "read_write" } };
    const before = await snapshot();
    const refused = { code: "forbidden", message: "The API Access Manager is only available in the browser." };
    await expect(disableApiKeysAsAdmin(viaKey, { ids: [target] })).rejects.toMatchObject(refused);
    await expect(deleteApiKeysAsAdmin(viaKey, { ids: [target] })).rejects.toMatchObject(refused);
    await expectUnchanged(before);
  });

  it.each([
    [{ ids: [] }, "Select at least one key."],
    [{ ids: ["not-a-uuid"] }, "That is not a valid id."],
    [
      { ids: Array.from({ length: 101 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`) },
      "Select at most 100 keys at a time.",
    ],
    [{ ids: "00000000-0000-4000-8000-000000000000" }, "Select the keys to change."],
    [{}, "Select the keys to change."],
  ])("bad input %#: a clear message, and nothing changes", async (input, message) => {
    const before = await snapshot();
    for (const fn of [disableApiKeysAsAdmin, deleteApiKeysAsAdmin]) {
      await expect(fn(admin, input as { ids: string[] })).rejects.toMatchObject({ code: "invalid", field: "ids", message });
    }
    await expectUnchanged(before);
  });

  it.each([
    ["owner", () => owner],
    ["admin", () => admin],
  ] as const)("%s disables the selected keys: each stops working, one audit row and one notice each", async (role, actorOf) => {
    const actor = actorOf();
    const selected = [
      await key(staff, `${role} bulk disable a`),
      await key(reader, `${role} bulk disable b`),
      await key(staff, `${role} bulk disable c`),
    ];
    const before = await snapshot();
    const result = await disableApiKeysAsAdmin(actor, { ids: [...selected, selected[0]!] });
    expect(result.missing).toEqual([]);
    expect(result.done.map((d) => d.id).sort()).toEqual([...selected].sort());
    await expectOnlyChanged(before, { api_keys: selected });
    for (const id of selected) {
      expect(await keyRow(id)).toMatchObject({ status: "disabled", disabledByAdmin: true, disabledBy: actor.userId });
    }
    for (const name of [`${role} bulk disable a`, `${role} bulk disable b`]) {
      expect(await authenticateApiKey(secrets.get(name)!, null)).toBeNull();
    }
    const audit = await auditSince(before);
    expect(audit.map((a) => [a.action, a.actorUserId, a.targetId]).sort()).toEqual(
      selected.map((id) => ["api_key.disabled", actor.userId, id]).sort(),
    );
    expect(audit.map((a) => a.metadata)).toContainEqual({ by_admin: true, key_owner: "rita@example.test" });
    const notes = await notices(selected);
    expect(notes.map((n) => [n.kind, n.keyId, n.userId]).sort()).toEqual(
      [
        ["key_disabled_by_admin", selected[0], staff.userId],
        ["key_disabled_by_admin", selected[1], reader.userId],
        ["key_disabled_by_admin", selected[2], staff.userId],
      ].sort(),
    );
  });

  it("deletes the selected keys: gone, one audit row and one notice each (none for the admin's own key)", async () => {
    const selected = [await key(staff, "bulk delete a"), await key(reader, "bulk delete b"), await key(admin, "bulk delete own")];
    const before = await snapshot();
    const result = await deleteApiKeysAsAdmin(admin, { ids: selected });
    expect(result).toEqual({ done: expect.any(Array), missing: [] });
    expect(result.done.map((d) => d.name).sort()).toEqual(["bulk delete a", "bulk delete b", "bulk delete own"]);
    await expectOnlyChanged(before, { api_keys: selected });
    for (const id of selected) expect(await keyRow(id)).toBeUndefined();
    expect(await authenticateApiKey(secrets.get("bulk delete a")!, null)).toBeNull();
    const audit = await auditSince(before);
    expect(audit).toHaveLength(3);
    expect(audit.every((a) => a.action === "api_key.deleted" && a.actorUserId === admin.userId)).toBe(true);
    expect(audit.map((a) => a.targetId).sort()).toEqual([...selected].sort());
    const notes = await notices(selected);
    expect(notes.map((n) => [n.kind, n.keyName, n.userId]).sort()).toEqual(
      [
        ["key_deleted_by_admin", "bulk delete a", staff.userId],
        ["key_deleted_by_admin", "bulk delete b", reader.userId],
      ].sort(),
    );
  });

  it.each(["disable", "delete"] as const)("%s: keys that vanished meanwhile are reported; the rest go ahead", async (op) => {
    const kept = [await key(staff, `vanish ${op} kept 1`), await key(reader, `vanish ${op} kept 2`)];
    const gone = await key(staff, `vanish ${op} gone`);
    const unknown = "00000000-0000-4000-8000-00000000abcd";
    await deleteApiKeyAsAdmin(owner, gone);
    const before = await snapshot();
    const fn = op === "disable" ? disableApiKeysAsAdmin : deleteApiKeysAsAdmin;
    const result = await fn(admin, { ids: [kept[0]!, gone, unknown.toUpperCase(), kept[1]!] });
    expect(result.missing.sort()).toEqual([gone, unknown].sort());
    expect(result.done.map((d) => d.id).sort()).toEqual([...kept].sort());
    await expectOnlyChanged(before, { api_keys: kept });
    expect((await auditSince(before)).map((a) => a.targetId).sort()).toEqual([...kept].sort());
    for (const id of kept) {
      if (op === "disable") expect(await keyRow(id)).toMatchObject({ status: "disabled" });
      else expect(await keyRow(id)).toBeUndefined();
    }
  });

  it.each(["disable", "delete"] as const)("%s is one transaction: when one key's audit row fails, no key changes", async (op) => {
    const selected = [await key(staff, `all or nothing ${op} 1`), await key(staff, `all or nothing ${op} 2 (fails)`)];
    const before = await snapshot();
    await db().execute(sql.raw(`alter table audit_log add constraint test_bulk_fails check (target_label not like '%(fails)') not valid`));
    try {
      const fn = op === "disable" ? disableApiKeysAsAdmin : deleteApiKeysAsAdmin;
      await expect(fn(admin, { ids: selected })).rejects.toThrow();
    } finally {
      await db().execute(sql.raw(`alter table audit_log drop constraint test_bulk_fails`));
    }
    await expectUnchanged(before);
    expect(await notices(selected)).toEqual([]);
    expect(await authenticateApiKey(secrets.get(`all or nothing ${op} 1`)!, null)).not.toBeNull();
  });

  it("a key already disabled by an admin is left as it is (no second audit row or notice)", async () => {
    const already = await key(staff, "already disabled");
    const fresh = await key(staff, "disabled now");
    await disableApiKeysAsAdmin(owner, { ids: [already] });
    const before = await snapshot();
    const result = await disableApiKeysAsAdmin(admin, { ids: [already, fresh] });
    expect(result.done.map((d) => d.id).sort()).toEqual([already, fresh].sort());
    expect((await auditSince(before)).map((a) => a.targetId)).toEqual([fresh]);
    expect(await keyRow(already)).toMatchObject({ disabledBy: owner.userId });
    const notes = await db()
      .select()
      .from(notifications)
      .where(and(eq(notifications.keyId, already), eq(notifications.kind, "key_disabled_by_admin")));
    expect(notes).toHaveLength(1);
  });
});
