import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { organisationSettings } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { createApiKey, regenerateApiKey } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { readKeyPolicy } from "@/lib/settings/policy";
import { getKeyPolicy, getTwoFactorPolicy, updateKeyPolicy, updateTwoFactorPolicy } from "@/lib/settings/service";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, makeUser, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let owner: Actor, admin: Actor, staff: Actor, reader: Actor, lite: Actor;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner", { name: "Olive Owner", email: "olive@example.test" });
  admin = await makeUser("admin", { name: "Adam Admin", email: "adam@example.test" });
  staff = await makeUser("staff");
  reader = await makeUser("read_only");
  lite = await makeUser("lite");
});
afterAll(() => teardown());

const OFF = { max_key_lifetime_days: null, disable_unused_after_days: null };

/** The settings row itself (readKeyPolicy hides updatedBy and updatedAt). */
async function settingsRow() {
  const [row] = await db().select().from(organisationSettings).where(eq(organisationSettings.id, 1));
  return row;
}

/** A refused or malformed call: the settings row, every watched table and the audit log are as they were. */
async function expectNothingChanged(fn: () => Promise<unknown>, refusal: { code?: string; message?: string; field?: string | null }) {
  const row = await settingsRow();
  const before = await snapshot();
  await expect(fn()).rejects.toMatchObject(refusal);
  expect(await settingsRow()).toEqual(row);
  await expectUnchanged(before);
}

describe("who may read and change the settings", () => {
  it.each([
    ["owner", () => owner],
    ["admin", () => admin],
  ] as const)("%s reads and changes the key policy, audited with from and to", async (_role, actorOf) => {
    const actor = actorOf();
    await updateKeyPolicy(owner, OFF);
    const before = await snapshot();
    await expect(getKeyPolicy(actor)).resolves.toEqual({ maxKeyLifetimeDays: null, disableUnusedAfterDays: null });

    const result = await updateKeyPolicy(actor, { max_key_lifetime_days: 90, disable_unused_after_days: 180 });
    expect(result).toEqual({ changed: true, policy: { maxKeyLifetimeDays: 90, disableUnusedAfterDays: 180 } });
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: 90, disableUnusedAfterDays: 180 });
    expect(await settingsRow()).toMatchObject({ updatedBy: actor.userId });
    await expect(getKeyPolicy(actor)).resolves.toEqual({ maxKeyLifetimeDays: 90, disableUnusedAfterDays: 180 });
    await expectOnlyChanged(before, {});
    const audit = await auditSince(before);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "settings.changed", actorUserId: actor.userId, targetLabel: "Key policy", ip: "127.0.0.1" });
    expect(audit[0]!.metadata).toEqual({
      from: { max_key_lifetime_days: null, disable_unused_after_days: null },
      to: { max_key_lifetime_days: 90, disable_unused_after_days: 180 },
    });

    // Back to No limit / Off, as a form sends it.
    const back = await snapshot();
    await updateKeyPolicy(actor, { max_key_lifetime_days: "none", disable_unused_after_days: "none" });
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: null, disableUnusedAfterDays: null });
    expect((await auditSince(back))[0]!.metadata).toEqual({
      from: { max_key_lifetime_days: 90, disable_unused_after_days: 180 },
      to: { max_key_lifetime_days: null, disable_unused_after_days: null },
    });
  });

  it.each([
    ["staff", () => staff],
    ["read_only", () => reader],
    ["lite", () => lite],
  ] as const)("%s may neither read nor change them, and nothing changes", async (_role, actorOf) => {
    const actor = actorOf();
    await updateKeyPolicy(owner, { max_key_lifetime_days: 30, disable_unused_after_days: null });
    const refused = { code: "forbidden", message: "You do not have permission to do that." };
    await expect(getKeyPolicy(actor)).rejects.toMatchObject(refused);
    await expectNothingChanged(() => updateKeyPolicy(actor, OFF), refused);
    await expectNothingChanged(() => updateKeyPolicy(actor, { max_key_lifetime_days: 365, disable_unused_after_days: 30 }), refused);
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: 30, disableUnusedAfterDays: null });
  });

  it("refuses an Owner or Admin acting through an API key (settings are a browser tool)", async () => {
    const viaKey = (actor: Actor): Actor => ({
      ...actor,
      apiKey: { id: "00000000-0000-4000-8000-000000000000", name: "ci", accessLevel: "read_write" },
    });
    const refused = { code: "forbidden", message: "Organisation settings are only available in the browser." };
    for (const actor of [owner, admin]) {
      await expect(getKeyPolicy(viaKey(actor))).rejects.toMatchObject(refused);
      await expectNothingChanged(() => updateKeyPolicy(viaKey(actor), OFF), refused);
    }
  });

  it("saving the same policy again changes and audits nothing", async () => {
    await updateKeyPolicy(admin, { max_key_lifetime_days: 180, disable_unused_after_days: 90 });
    const row = await settingsRow();
    const before = await snapshot();
    await expect(updateKeyPolicy(owner, { max_key_lifetime_days: "180", disable_unused_after_days: "90" })).resolves.toEqual({
      changed: false,
      policy: { maxKeyLifetimeDays: 180, disableUnusedAfterDays: 90 },
    });
    expect(await settingsRow()).toEqual(row);
    await expectUnchanged(before);
  });

  it("recreates the settings row if it is missing", async () => {
    await db().delete(organisationSettings);
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: null, disableUnusedAfterDays: null });
    await updateKeyPolicy(admin, { max_key_lifetime_days: 365, disable_unused_after_days: null });
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: 365, disableUnusedAfterDays: null });
  });

  it("rolls the change back when its audit row cannot be written", async () => {
    await updateKeyPolicy(admin, OFF);
    await db().execute(sql.raw(`alter table audit_log add constraint test_no_settings check (action <> 'settings.changed') not valid`));
    try {
      await expectNothingChanged(() => updateKeyPolicy(admin, { max_key_lifetime_days: 30, disable_unused_after_days: 30 }), {});
    } finally {
      await db().execute(sql.raw(`alter table audit_log drop constraint test_no_settings`));
    }
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: null, disableUnusedAfterDays: null });
  });
});

describe("bad input: a clear message on the field, and nothing changes", () => {
  const LIFETIME = "Choose a maximum key lifetime: No limit, 30 days, 90 days, 180 days or 1 year.";
  const UNUSED = "Choose when to disable unused keys: Off, 30 days, 90 days, 180 days or 1 year.";
  it.each([
    [{ max_key_lifetime_days: 45, disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: "7", disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: "90.0", disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: " 90", disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: -30, disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: 0, disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: "", disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: "never", disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: [90], disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ disable_unused_after_days: null }, "max_key_lifetime_days", LIFETIME],
    [{ max_key_lifetime_days: null, disable_unused_after_days: 7 }, "disable_unused_after_days", UNUSED],
    [{ max_key_lifetime_days: null, disable_unused_after_days: "1y" }, "disable_unused_after_days", UNUSED],
    [{ max_key_lifetime_days: null, disable_unused_after_days: true }, "disable_unused_after_days", UNUSED],
    [{ max_key_lifetime_days: null }, "disable_unused_after_days", UNUSED],
  ])("%j is refused on %s", async (input, field, message) => {
    await updateKeyPolicy(owner, { max_key_lifetime_days: 90, disable_unused_after_days: 30 });
    await expectNothingChanged(() => updateKeyPolicy(admin, input), { code: "invalid", field, message });
    expect(await readKeyPolicy(db())).toEqual({ maxKeyLifetimeDays: 90, disableUnusedAfterDays: 30 });
  });

  it.each([null, undefined, "x", 42, []])("a call with %j instead of settings is refused", async (input) => {
    await expectNothingChanged(() => updateKeyPolicy(admin, input), { code: "invalid" });
  });
});

describe("the key services enforce the policy as it is saved", () => {
  const DAY = 24 * 60 * 60 * 1000;
  it("a maximum lifetime refuses No expiration and later dates on create and on regenerate, and allows the last day", async () => {
    await updateKeyPolicy(admin, { max_key_lifetime_days: 30, disable_unused_after_days: null });
    const tooLate = new Date(Date.now() + 32 * DAY);
    await expect(createApiKey(staff, { name: "forever", access_level: "read_only", expires_at: null })).rejects.toMatchObject({
      code: "invalid",
      field: "expires_at",
    });
    await expect(createApiKey(staff, { name: "too late", access_level: "read_only", expires_at: tooLate })).rejects.toMatchObject({
      code: "invalid",
      field: "expires_at",
    });
    const { key } = await createApiKey(staff, { name: "within", access_level: "read_only", expires_at: new Date(Date.now() + 29 * DAY) });
    await expect(regenerateApiKey(staff, key.id, { expires_at: null })).rejects.toMatchObject({ code: "invalid", field: "expires_at" });

    // Lifted: the same requests now succeed.
    await updateKeyPolicy(admin, OFF);
    await expect(createApiKey(staff, { name: "forever", access_level: "read_only", expires_at: null })).resolves.toMatchObject({
      key: { expiresAt: null },
    });
  });
});

describe("Require two-factor authentication (SPEC §12)", () => {
  const POLICY_MESSAGE = "Choose who must use two-factor authentication: Off, For Owners and Admins or For everyone.";

  it.each([
    ["owner", () => owner],
    ["admin", () => admin],
  ] as const)(
    "%s reads and changes it, audited as settings.changed with from and to; the key policy is left alone",
    async (_r, actorOf) => {
      const actor = actorOf();
      await updateTwoFactorPolicy(owner, { require_two_factor: "off" });
      const keyPolicy = await readKeyPolicy(db());
      const before = await snapshot();
      await expect(getTwoFactorPolicy(actor)).resolves.toBe("off");
      await expect(updateTwoFactorPolicy(actor, { require_two_factor: "admins" })).resolves.toEqual({ policy: "admins", changed: true });
      await expect(updateTwoFactorPolicy(actor, { require_two_factor: "everyone" })).resolves.toEqual({
        policy: "everyone",
        changed: true,
      });
      await expect(getTwoFactorPolicy(actor)).resolves.toBe("everyone");
      expect(await settingsRow()).toMatchObject({ requireTwoFactor: "everyone", updatedBy: actor.userId });
      expect(await readKeyPolicy(db())).toEqual(keyPolicy);
      await expectOnlyChanged(before, {});
      expect(await auditSince(before)).toMatchObject([
        {
          action: "settings.changed",
          actorUserId: actor.userId,
          targetLabel: "Two-factor authentication",
          metadata: { from: { require_two_factor: "off" }, to: { require_two_factor: "admins" } },
        },
        { action: "settings.changed", metadata: { from: { require_two_factor: "admins" }, to: { require_two_factor: "everyone" } } },
      ]);
      await updateTwoFactorPolicy(owner, { require_two_factor: "off" });
    },
  );

  it("saving the same choice again changes and audits nothing", async () => {
    await updateTwoFactorPolicy(owner, { require_two_factor: "admins" });
    const row = await settingsRow();
    const before = await snapshot();
    await expect(updateTwoFactorPolicy(admin, { require_two_factor: "admins" })).resolves.toEqual({ policy: "admins", changed: false });
    expect(await settingsRow()).toEqual(row);
    await expectUnchanged(before);
    await updateTwoFactorPolicy(owner, { require_two_factor: "off" });
  });

  it("refuses other roles, API keys and a session confirmed over 15 minutes ago, changing nothing", async () => {
    const viaKey = (actor: Actor): Actor => ({
      ...actor,
      apiKey: { id: "00000000-0000-4000-8000-000000000000", name: "ci", accessLevel: "read_write" },
    });
    const cases: [Actor, object][] = [
      [staff, { code: "forbidden" }],
      [reader, { code: "forbidden" }],
      [lite, { code: "forbidden" }],
      [viaKey(owner), { code: "forbidden", message: "Organisation settings are only available in the browser." }],
      [viaKey(admin), { code: "forbidden", message: "Organisation settings are only available in the browser." }],
      [{ ...admin, confirmedAt: new Date(Date.now() - 16 * 60 * 1000) }, { code: "confirmation_required" }],
    ];
    for (const [actor, refusal] of cases) {
      await expectNothingChanged(() => updateTwoFactorPolicy(actor, { require_two_factor: "everyone" }), refusal);
    }
    for (const actor of [staff, reader, lite, viaKey(admin)])
      await expect(getTwoFactorPolicy(actor)).rejects.toMatchObject({ code: "forbidden" });
  });

  it.each([
    { require_two_factor: "always" },
    { require_two_factor: "" },
    { require_two_factor: "OFF" },
    { require_two_factor: 1 },
    {},
    null,
    "admins",
  ])("%j is refused on require_two_factor with a clear message, nothing changed", async (input) => {
    await expectNothingChanged(() => updateTwoFactorPolicy(admin, input), {
      code: "invalid",
      field: "require_two_factor",
      message: POLICY_MESSAGE,
    });
  });
});
