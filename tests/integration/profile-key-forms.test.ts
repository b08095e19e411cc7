/**
 * The Profile's key dialogs as their server actions run them, on both databases: the form's
 * fields (strings, as FormData carries them) through the operation's schema into the service.
 * Edit API Key saves the name and the description in one transaction; Regenerate's confirmation
 * sends a grace period, and an Expiration for an expired key. (The services' own rules are
 * key-lifecycle.test.ts's; the wrapper's session and argument checks are server-actions.test.ts's.)
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { ServiceError } from "@/lib/errors";
import { KEY_NOT_FOUND } from "@/lib/keys/messages";
import { createApiKey, regenerateApiKey, updateOwnApiKey, verifyApiKey } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { fieldErrorsOf } from "@/lib/validation/common";
import { createApiKeyFormSchema, editApiKeySchema, regenerateApiKeyFormSchema } from "@/lib/validation/keys";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, keyRow, makeUser, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let staff: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  staff = await makeUser("staff");
});
afterAll(() => teardown());

let n = 0;
const name = () => `profile form key ${++n}`;

/** What editApiKeyAction does with the Edit API Key form. */
async function submitEdit(actor: Actor, form: Record<string, string>) {
  const input = editApiKeySchema.parse(form);
  return updateOwnApiKey(actor, input.id, { name: input.name, description: input.description });
}

/** What regenerateApiKeyAction does with Regenerate's confirmation. */
async function submitRegenerate(actor: Actor, form: Record<string, string>) {
  const { id, ...options } = regenerateApiKeyFormSchema.parse(form);
  return regenerateApiKey(actor, id, options);
}

async function refusal(work: Promise<unknown>): Promise<ServiceError> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceError);
  return error as ServiceError;
}

describe("Add API Key's form", () => {
  it("creates the key with the chosen expiration and description", async () => {
    const input = createApiKeyFormSchema.parse({
      name: name(),
      access_level: "read_only",
      expiration: "7d",
      description: "  Nightly export\nto the warehouse  ",
    });
    const { key } = await createApiKey(staff, input);
    const row = await keyRow(key.id);
    expect(row!.description).toBe("Nightly export\nto the warehouse");
    expect(Math.abs(row!.expiresAt!.getTime() - (Date.now() + 7 * 86_400_000))).toBeLessThan(60_000);
  });

  it("reports each bad field under its own name", () => {
    const missingDate = createApiKeyFormSchema.safeParse({ name: name(), access_level: "read_only", expiration: "custom" });
    expect(fieldErrorsOf(missingDate.error!)).toEqual({ expiration_date: ["Enter a date (YYYY-MM-DD)."] });
    const longDescription = createApiKeyFormSchema.safeParse({
      name: name(),
      access_level: "read_only",
      expiration: "90d",
      description: "x".repeat(501),
    });
    expect(fieldErrorsOf(longDescription.error!)).toEqual({ description: ["The description must be at most 500 characters."] });
    const unknownChoice = createApiKeyFormSchema.safeParse({ name: name(), access_level: "read_only", expiration: "2y" });
    expect(fieldErrorsOf(unknownChoice.error!)).toEqual({ expiration: ["Choose when the key expires."] });
  });
});

describe("Edit API Key's form", () => {
  it("saves the name and the description together, each audited", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const before = await snapshot();
    const renamed = name();
    const saved = await submitEdit(staff, { id: key.id, name: renamed, description: "Runs the billing sync." });
    expect(saved).toMatchObject({ name: renamed, description: "Runs the billing sync." });
    await expectOnlyChanged(before, { api_keys: [key.id] });
    expect((await auditSince(before)).map((row) => row.action)).toEqual(["api_key.renamed", "api_key.described"]);
  });

  it("an unchanged form changes nothing and audits nothing; a blank description clears it", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only", description: "Old words" });
    const before = await snapshot();
    await submitEdit(staff, { id: key.id, name: key.name, description: "Old words" });
    await expectUnchanged(before);
    expect((await submitEdit(staff, { id: key.id, name: key.name, description: "   " })).description).toBeNull();
    expect((await auditSince(before)).map((row) => row.action)).toEqual(["api_key.described"]);
  });

  it("a duplicate name refuses the whole form: the description is not saved either", async () => {
    const { key: other } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only", description: "Keep me" });
    const before = await snapshot();
    // The description is written after the name in the same transaction: the refusal undoes both.
    const error = await refusal(submitEdit(staff, { id: key.id, name: other.name.toUpperCase(), description: "Lost words" }));
    expect(error).toMatchObject({ code: "conflict", field: "name", message: "You already have an API key with this name." });
    await expectUnchanged(before);
    expect((await keyRow(key.id))!.description).toBe("Keep me");
  });

  it("someone else's key is not found and nothing changes", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only", description: "Theirs" });
    const intruder = await makeUser("staff");
    const before = await snapshot();
    const error = await refusal(submitEdit(intruder, { id: key.id, name: "Mine now", description: "Mine" }));
    expect(error).toMatchObject({ code: "not_found", message: KEY_NOT_FOUND });
    await expectUnchanged(before);
  });
});

describe("Regenerate's confirmation", () => {
  it("1 hour keeps the old secret working alongside the new one", async () => {
    const { key, secret: old } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const { secret, previousSecretExpiresAt } = await submitRegenerate(staff, { id: key.id, grace_period_seconds: "3600" });
    expect(Math.abs(previousSecretExpiresAt!.getTime() - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    expect(await verifyApiKey(secret, null)).toMatchObject({ ok: true });
    expect(await verifyApiKey(old, null)).toMatchObject({ ok: true, found: { sunset: previousSecretExpiresAt } });
  });

  it("No grace period (the default) ends the old secret at once", async () => {
    const { key, secret: old } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    const { previousSecretExpiresAt } = await submitRegenerate(staff, { id: key.id, grace_period_seconds: "0" });
    expect(previousSecretExpiresAt).toBeNull();
    expect(await verifyApiKey(old, null)).toEqual({ ok: false, reason: "invalid" });
  });

  it("an expired key needs an Expiration, and with one works again", async () => {
    const { key } = await createApiKey(staff, { name: name(), access_level: "read_only" });
    await db()
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, key.id));
    const before = await snapshot();
    const error = await refusal(submitRegenerate(staff, { id: key.id, grace_period_seconds: "0" }));
    expect(error).toMatchObject({ code: "invalid", field: "expires_at" });
    await expectUnchanged(before);

    const { key: revived, secret } = await submitRegenerate(staff, { id: key.id, grace_period_seconds: "0", expiration: "30d" });
    expect(Math.abs(revived.expiresAt!.getTime() - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
    expect(await verifyApiKey(secret, null)).toMatchObject({ ok: true });
  });

  it("a malformed grace period or Expiration is the field's error", () => {
    const id = "00000000-0000-4000-8000-000000000000";
    for (const [form, field] of [
      [{ id, grace_period_seconds: "an hour" }, "grace_period_seconds"],
      [{ id, grace_period_seconds: "604801" }, "grace_period_seconds"],
      [{ id, grace_period_seconds: "-1" }, "grace_period_seconds"],
      [{ id, grace_period_seconds: "0", expiration: "custom", expiration_date: "2027-02-31" }, "expiration_date"],
      [{ id, grace_period_seconds: "0", expiration: "forever" }, "expiration"],
      [{ id: "not-an-id", grace_period_seconds: "0" }, "id"],
    ] as const) {
      const parsed = regenerateApiKeyFormSchema.safeParse(form);
      expect(Object.keys(fieldErrorsOf(parsed.error!)), JSON.stringify(form)).toEqual([field]);
    }
  });
});
