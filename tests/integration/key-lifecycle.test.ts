/**
 * SPEC §11's key lifecycle in the services, on both databases: expiry (checked on every
 * verification, cache hits included), the organisation's maximum lifetime, rotation with a grace
 * period, descriptions, and the notices an admin's change leaves its holder. The transports (the
 * REST API, the Profile and the Access Manager) have their own tests on top of these.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { apiKeys, notifications, organisationSettings } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { deleteApiKeyAsAdmin, setApiKeyStatusAsAdmin } from "@/lib/keys/admin";
import { KeyVerificationCache } from "@/lib/keys/cache";
import { keyState } from "@/lib/keys/dto";
import {
  createApiKey,
  NO_PREVIOUS_SECRET,
  regenerateApiKey,
  revokePreviousSecret,
  setOwnApiKeyStatus,
  updateOwnApiKey,
  verifyApiKey,
} from "@/lib/keys/service";
import { digestApiKey } from "@/lib/keys/crypto";
import { db, keyring } from "@/lib/runtime";
import { changeRole } from "@/lib/users/roles";
import { createApiKeyFormSchema, regenerateApiKeySchema } from "@/lib/validation/keys";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectUnchanged, keyRow, makeUser, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let staff: Actor;
let admin: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  staff = await makeUser("staff");
  admin = await makeUser("admin");
});
afterAll(() => teardown());

async function setPolicy(maxKeyLifetimeDays: number | null, disableUnusedAfterDays: number | null = null) {
  await db().update(organisationSettings).set({ maxKeyLifetimeDays, disableUnusedAfterDays }).where(eq(organisationSettings.id, 1));
}
beforeEach(() => setPolicy(null));

let n = 0;
const name = () => `lifecycle key ${++n}`;
const inSeconds = (s: number) => new Date(Date.now() + s * 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const digestOf = (secret: string) => digestApiKey(secret, keyring());
const inDays = (d: number) => new Date(Date.now() + d * 86_400_000);

describe("expiry", () => {
  it("a key made with an expiry works until then, and is refused as expired afterwards, from the cache too", async () => {
    const { key, secret } = await createApiKey(staff, { name: name(), access_level: "read_only", expires_at: inSeconds(1.5) });
    expect(key.expiresAt).toEqual((await keyRow(key.id))!.expiresAt);
    const cache = new KeyVerificationCache();
    cache.configure("local", { ttlMs: 60_000, maxEntries: 100 });
    expect(await verifyApiKey(secret, null, { cache })).toMatchObject({ ok: true });
    // The expiry passes while the key sits in the cache: the cache answers, and refuses it.
    await sleep(key.expiresAt!.getTime() - Date.now() + 50);
    expect(cache.get(digestOf(secret), Date.now())).toBeDefined();
    expect(await verifyApiKey(secret, null, { cache })).toEqual({ ok: false, reason: "expired" });
    expect(await verifyApiKey(secret, null)).toEqual({ ok: false, reason: "expired" });
    expect(keyState({ status: "active", expiresAt: inSeconds(-1) })).toBe("expired");
    expect(keyState({ status: "disabled", expiresAt: inSeconds(-1) })).toBe("disabled");
  });

  it("without an expiry a key never expires, and existing keys keep none", async () => {
    const { key, secret } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    expect(key.expiresAt).toBeNull();
    expect(await verifyApiKey(secret, null)).toMatchObject({ ok: true });
  });

  it.each([
    ["in the past", () => inSeconds(-5), "The expiration must be in the future."],
    ["now", () => new Date(), "The expiration must be in the future."],
  ])("refuses an expiry %s, changing nothing", async (_label, at, message) => {
    const before = await snapshot();
    await expect(createApiKey(staff, { name: name(), access_level: "read_only", expires_at: at() })).rejects.toMatchObject({
      code: "invalid",
      field: "expires_at",
      message,
    });
    await expectUnchanged(before);
  });

  it("the dialog's choices become expiries; a malformed custom date is the date field's error", () => {
    const parsed = createApiKeyFormSchema.parse({ name: "k", access_level: "read_only", expiration: "7d" });
    expect(Math.abs(parsed.expires_at!.getTime() - inDays(7).getTime())).toBeLessThan(5_000);
    expect(createApiKeyFormSchema.parse({ name: "k", expiration: "never" }).expires_at).toBeNull();
    expect(createApiKeyFormSchema.parse({ name: "k", expiration: "custom", expiration_date: "2030-05-01" }).expires_at).toEqual(
      new Date("2030-05-01T23:59:59Z"),
    );
    const bad = createApiKeyFormSchema.safeParse({ name: "k", expiration: "custom", expiration_date: "2030-02-30" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ["expiration_date"], message: "Enter a date (YYYY-MM-DD)." });
    expect(createApiKeyFormSchema.safeParse({ name: "k", expiration: "forever" }).success).toBe(false);
  });
});

describe("the organisation's maximum key lifetime", () => {
  it("refuses no expiry and a later one, allows up to the last day, and defaults to the longest", async () => {
    await setPolicy(30);
    const before = await snapshot();
    await expect(createApiKey(staff, { name: name(), access_level: "read_only", expires_at: null })).rejects.toMatchObject({
      field: "expires_at",
      message: "Your organisation requires keys to expire within 30 days: choose an expiration.",
    });
    await expect(createApiKey(staff, { name: name(), access_level: "read_only", expires_at: inDays(31) })).rejects.toMatchObject({
      field: "expires_at",
      message: "Your organisation allows keys to live at most 30 days: choose an earlier expiration.",
    });
    await expectUnchanged(before);

    const within = await createApiKey(staff, { name: name(), access_level: "read_only", expires_at: inDays(29) });
    expect(within.key.expiresAt).not.toBeNull();
    const defaulted = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const latest = defaulted.key.expiresAt!;
    expect(latest.getUTCHours()).toBe(23);
    expect(latest.getTime()).toBeGreaterThan(inDays(29.9).getTime());
    expect(latest.getTime()).toBeLessThanOrEqual(inDays(31).getTime());
  });

  it("applies to a regenerate's new expiry too", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only", expires_at: inDays(10) });
    await setPolicy(30);
    const before = await snapshot();
    await expect(regenerateApiKey(staff, key.id, { expires_at: inDays(60) })).rejects.toMatchObject({ field: "expires_at" });
    await expectUnchanged(before);
  });
});

describe("rotation with a grace period", () => {
  it("keeps the old secret working until the grace ends, with its sunset; the new one works at once", async () => {
    const { key, secret: old } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const rotated = await regenerateApiKey(staff, key.id, { grace_period_seconds: 3600 });
    expect(rotated.previousSecretExpiresAt!.getTime()).toBeGreaterThan(inSeconds(3590).getTime());
    expect(rotated.key.previousSecretExpiresAt).toEqual(rotated.previousSecretExpiresAt);
    const viaOld = await verifyApiKey(old, null);
    expect(viaOld).toMatchObject({ ok: true, found: { key: { id: key.id }, sunset: rotated.previousSecretExpiresAt } });
    const viaNew = await verifyApiKey(rotated.secret, null);
    expect(viaNew.ok && viaNew.found.sunset).toBeUndefined();
    expect((await auditSince({ rows: {} as never, auditMark: 0 })).at(-1)).toMatchObject({
      action: "api_key.regenerated",
      metadata: { grace_period_seconds: 3600 },
    });
  });

  it("when the grace ends the old secret is refused, from a cache too", async () => {
    const { key, secret: old } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const rotated = await regenerateApiKey(staff, key.id, { grace_period_seconds: 1 });
    const cache = new KeyVerificationCache();
    cache.configure("local", { ttlMs: 60_000, maxEntries: 100 });
    expect(await verifyApiKey(old, null, { cache })).toMatchObject({ ok: true });
    await sleep(rotated.previousSecretExpiresAt!.getTime() - Date.now() + 50);
    expect(cache.get(digestOf(old), Date.now())).toBeDefined();
    expect(await verifyApiKey(old, null, { cache })).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyApiKey(old, null)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyApiKey(rotated.secret, null)).toMatchObject({ ok: true });
  });

  it("Revoke old secret now ends it at once and is audited; without one it is not found", async () => {
    const { key, secret: old } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    await regenerateApiKey(staff, key.id, { grace_period_seconds: 86_400 });
    const before = await snapshot();
    const revoked = await revokePreviousSecret(staff, key.id);
    expect(revoked.previousSecretExpiresAt).toBeNull();
    expect(await keyRow(key.id)).toMatchObject({ previousDigest: null, previousExpiresAt: null });
    expect(await verifyApiKey(old, null)).toEqual({ ok: false, reason: "invalid" });
    expect(await auditSince(before)).toMatchObject([{ action: "api_key.previous_secret_revoked", targetId: key.id }]);

    const again = await snapshot();
    await expect(revokePreviousSecret(staff, key.id)).rejects.toMatchObject({ code: "not_found", message: NO_PREVIOUS_SECRET });
    // Another person's key is not found either.
    await expect(revokePreviousSecret(admin, key.id)).rejects.toMatchObject({ code: "not_found" });
    await expectUnchanged(again);
  });

  it("without a grace period the old secret stops at once, and an earlier previous secret with it", async () => {
    const { key, secret: first } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const second = await regenerateApiKey(staff, key.id, { grace_period_seconds: 3600 });
    const third = await regenerateApiKey(staff, key.id);
    expect(third.previousSecretExpiresAt).toBeNull();
    expect(await verifyApiKey(first, null)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyApiKey(second.secret, null)).toEqual({ ok: false, reason: "invalid" });
    expect(await verifyApiKey(third.secret, null)).toMatchObject({ ok: true });
  });

  it("disabling (by the holder or an admin) and deleting end both secrets", async () => {
    for (const end of [
      (id: string) => setOwnApiKeyStatus(staff, id, "disabled"),
      (id: string) => setApiKeyStatusAsAdmin(admin, id, "disabled"),
      (id: string) => deleteApiKeyAsAdmin(admin, id),
    ]) {
      const { key, secret: old } = await createApiKey(staff, { name: name(), access_level: "read_only" });
      const rotated = await regenerateApiKey(staff, key.id, { grace_period_seconds: 3600 });
      await end(key.id);
      expect(await verifyApiKey(old, null)).toEqual({ ok: false, reason: "invalid" });
      expect(await verifyApiKey(rotated.secret, null)).toEqual({ ok: false, reason: "invalid" });
      const row = await keyRow(key.id);
      if (row) {
        // Enabled again, the old secret stays ended.
        expect(row).toMatchObject({ previousDigest: null, previousExpiresAt: null });
        await setApiKeyStatusAsAdmin(admin, key.id, "active");
        expect(await verifyApiKey(old, null)).toEqual({ ok: false, reason: "invalid" });
        expect(await verifyApiKey(rotated.secret, null)).toMatchObject({ ok: true });
      }
    }
  });

  it("an expired key regenerates only with a new expiry, and then works again; it keeps no old secret", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only", expires_at: inDays(1) });
    await db()
      .update(apiKeys)
      .set({ expiresAt: inSeconds(-10) })
      .where(eq(apiKeys.id, key.id));
    const before = await snapshot();
    await expect(regenerateApiKey(staff, key.id, { grace_period_seconds: 3600 })).rejects.toMatchObject({
      code: "invalid",
      field: "expires_at",
      message: "This key has expired: choose a new expiration to regenerate it.",
    });
    await expectUnchanged(before);
    // Its old secret does not work, so no grace period can keep it working: refused, not dropped.
    await expect(regenerateApiKey(staff, key.id, { grace_period_seconds: 3600, expires_at: inDays(30) })).rejects.toMatchObject({
      code: "conflict",
      field: "grace_period_seconds",
    });
    await expectUnchanged(before);
    const revived = await regenerateApiKey(staff, key.id, { expires_at: inDays(30) });
    expect(revived.previousSecretExpiresAt).toBeNull();
    expect(keyState(revived.key)).toBe("active");
    expect(await verifyApiKey(revived.secret, null)).toMatchObject({ ok: true });
  });

  it.each([
    [{ grace_period_seconds: -1 }, "grace_period_seconds"],
    [{ grace_period_seconds: 604_801 }, "grace_period_seconds"],
    [{ grace_period_seconds: 1.5 }, "grace_period_seconds"],
    [{ grace_period_seconds: "soon" }, "grace_period_seconds"],
    [{ expires_at: "next week" }, "expires_at"],
    [{ other: 1 }, ""],
  ])("the regenerate body %j is refused naming %j", (body, param) => {
    const parsed = regenerateApiKeySchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path.join(".")).toBe(param);
  });
});

describe("descriptions", () => {
  it("are kept, changed, cleared and audited; over 500 characters they are refused", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only", description: "Billing export, nightly" });
    expect(key.description).toBe("Billing export, nightly");
    const before = await snapshot();
    expect((await updateOwnApiKey(staff, key.id, { description: "Line one\nline two" })).description).toBe("Line one\nline two");
    expect((await updateOwnApiKey(staff, key.id, { description: null })).description).toBeNull();
    expect(await auditSince(before)).toMatchObject([{ action: "api_key.described" }, { action: "api_key.described" }]);
    const { keyDescription } = await import("@/lib/validation/keys");
    expect(keyDescription.safeParse("x".repeat(501)).error!.issues[0]!.message).toBe("The description must be at most 500 characters.");
    expect(keyDescription.safeParse("x".repeat(500)).success).toBe(true);
    expect(keyDescription.safeParse("bell\u0007").success).toBe(false);
    expect(keyDescription.parse("   ")).toBeNull();
  });
});

describe("notices for the holder", () => {
  const noticesOf = (actor: Actor) =>
    db().select().from(notifications).where(eq(notifications.userId, actor.userId)).orderBy(notifications.createdAt);

  it("an admin disabling or deleting someone's key tells them; their own choices tell no one", async () => {
    const holder = await makeUser("staff");
    const a = await createApiKey(holder, { name: "noticed: disabled", access_level: "read_only" });
    const b = await createApiKey(holder, { name: "noticed: deleted", access_level: "read_only" });
    await setOwnApiKeyStatus(holder, a.key.id, "disabled");
    await setOwnApiKeyStatus(holder, a.key.id, "active");
    expect(await noticesOf(holder)).toEqual([]);
    await setApiKeyStatusAsAdmin(admin, a.key.id, "disabled");
    await deleteApiKeyAsAdmin(admin, b.key.id);
    expect(await noticesOf(holder)).toMatchObject([
      { kind: "key_disabled_by_admin", keyId: a.key.id, keyName: "noticed: disabled", data: { by: admin.name }, readAt: null },
      { kind: "key_deleted_by_admin", keyId: b.key.id, keyName: "noticed: deleted", data: { by: admin.name } },
    ]);
    // An admin's own key, through the Access Manager: nobody to tell.
    const own = await createApiKey(admin, { name: "admin's own", access_level: "read_only" });
    await setApiKeyStatusAsAdmin(admin, own.key.id, "disabled");
    await deleteApiKeyAsAdmin(admin, own.key.id);
    expect(await noticesOf(admin)).toEqual([]);
  });

  it("a role change tells the person, naming the keys it deleted", async () => {
    const person = await makeUser("staff");
    await createApiKey(person, { name: "writer", access_level: "read_write" });
    await createApiKey(person, { name: "reader", access_level: "read_only" });
    await changeRole(admin, { userId: person.userId, role: "read_only" });
    expect(await noticesOf(person)).toMatchObject([
      { kind: "role_changed", data: { from: "staff", to: "read_only", deleted_keys: ["writer"], by: admin.name } },
    ]);
  });

  it("enabling a key restarts its unused-key clock; disabling leaves it", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const long = new Date("2025-01-01T00:00:00Z");
    await db()
      .update(apiKeys)
      .set({ activeSince: long })
      .where(and(eq(apiKeys.id, key.id)));
    await setOwnApiKeyStatus(staff, key.id, "disabled");
    expect((await keyRow(key.id))!.activeSince).toEqual(long);
    await setOwnApiKeyStatus(staff, key.id, "active");
    expect((await keyRow(key.id))!.activeSince.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});
