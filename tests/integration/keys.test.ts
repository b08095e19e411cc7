import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { apiKeys, auditLog, users, type ApiKey, type Role } from "@/db/schema";
import type { AuditAction } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { isWellFormedApiKey } from "@/lib/keys/format";
import { KEY_LOCKED_MESSAGE, KEY_NOT_FOUND, READ_ONLY_KEY_MESSAGE } from "@/lib/keys/messages";
import {
  authenticateApiKey,
  createApiKey,
  deleteApiKey,
  getOwnApiKey,
  listOwnApiKeys,
  regenerateApiKey,
  renameApiKey,
  revealApiKey,
  setOwnApiKeyStatus,
} from "@/lib/keys/service";
import { createApiKeySchema, renameApiKeySchema } from "@/lib/validation/keys";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, keyRow, makeUser, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

let n = 0;
const uniqueName = (base = "key") => `${base} ${++n}`;

/** A key of `actor`'s, created the normal way. */
async function keyOf(actor: Actor, level: "read_only" | "read_write" = "read_only") {
  return createApiKey(actor, { name: uniqueName(), access_level: level });
}

describe("the key lifecycle", () => {
  it("creates a well-formed key that authenticates, and lists it masked", async () => {
    const staff = await makeUser("staff");
    const { key, secret } = await createApiKey(staff, { name: "CI deploys", access_level: "read_write" });
    expect(isWellFormedApiKey(secret)).toBe(true);
    expect(key).toMatchObject({ name: "CI deploys", accessLevel: "read_write", status: "active", lastUsedAt: null });
    expect(key.maskedKey.startsWith(secret.slice(0, 7))).toBe(true);
    expect(key.maskedKey.endsWith(secret.slice(-4))).toBe(true);
    expect(JSON.stringify(await listOwnApiKeys(staff))).not.toContain(secret);

    const auth = await authenticateApiKey(secret, "192.0.2.1");
    expect(auth?.key.id).toBe(key.id);
    expect(auth?.user).toMatchObject({ id: staff.userId, role: "staff" });
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row!.lastUsedAt).not.toBeNull();
    expect(row!.lastUsedIp).toBe("192.0.2.1");
  });

  it("writes last_used_at at most once a minute", async () => {
    const staff = await makeUser("staff");
    const { key, secret } = await keyOf(staff);
    await authenticateApiKey(secret, "192.0.2.1");
    const [first] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    await authenticateApiKey(secret, "192.0.2.2");
    const [second] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(second!.lastUsedAt!.getTime()).toBe(first!.lastUsedAt!.getTime());
    expect(second!.lastUsedIp).toBe("192.0.2.1");
    await db()
      .update(apiKeys)
      .set({ lastUsedAt: new Date(Date.now() - 61_000) })
      .where(eq(apiKeys.id, key.id));
    await authenticateApiKey(secret, "192.0.2.3");
    const [third] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(third!.lastUsedIp).toBe("192.0.2.3");
  });

  it("reveal returns the same secret and audits reveal, copy and QR separately", async () => {
    const staff = await makeUser("staff");
    const { key, secret } = await keyOf(staff);
    expect(await revealApiKey(staff, key.id, "reveal")).toBe(secret);
    expect(await revealApiKey(staff, key.id, "copy")).toBe(secret);
    expect(await revealApiKey(staff, key.id, "qr")).toBe(secret);
    const actions = (await db().select().from(auditLog).where(eq(auditLog.targetId, key.id))).map((r) => r.action);
    expect(actions).toEqual(["api_key.created", "api_key.revealed", "api_key.copied", "api_key.qr_viewed"]);
  });

  it("disable stops authentication at once; enable restores it", async () => {
    const staff = await makeUser("staff");
    const { key, secret } = await keyOf(staff);
    await setOwnApiKeyStatus(staff, key.id, "disabled");
    expect(await keyRow(key.id)).toMatchObject({ status: "disabled", disabledBy: staff.userId });
    expect(await authenticateApiKey(secret, null)).toBeNull();
    await setOwnApiKeyStatus(staff, key.id, "active");
    expect(await keyRow(key.id)).toMatchObject({ status: "active", disabledBy: null });
    expect(await authenticateApiKey(secret, null)).not.toBeNull();
  });

  it("regenerate: the old secret stops working, the new one works; id, name and level stay", async () => {
    const staff = await makeUser("staff");
    const { key, secret } = await keyOf(staff, "read_write");
    const next = await regenerateApiKey(staff, key.id);
    expect(next.secret).not.toBe(secret);
    expect(next.key).toMatchObject({ id: key.id, name: key.name, accessLevel: "read_write" });
    expect(await authenticateApiKey(secret, null)).toBeNull();
    expect((await authenticateApiKey(next.secret, null))?.key.id).toBe(key.id);
    expect(await revealApiKey(staff, key.id, "reveal")).toBe(next.secret);
  });

  it("rename keeps the secret; delete is permanent", async () => {
    const staff = await makeUser("staff");
    const { key, secret } = await keyOf(staff);
    expect((await renameApiKey(staff, key.id, "Renamed")).name).toBe("Renamed");
    expect((await authenticateApiKey(secret, null))?.key.name).toBe("Renamed");
    expect(await keyRow(key.id)).toMatchObject({ name: "Renamed" });
    await deleteApiKey(staff, key.id);
    expect(await keyRow(key.id)).toBeUndefined();
    expect(await authenticateApiKey(secret, null)).toBeNull();
    await expect(getOwnApiKey(staff, key.id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("an admin-disabled key cannot be enabled by its owner", async () => {
    const staff = await makeUser("staff");
    const admin = await makeUser("admin");
    const { key, secret } = await keyOf(staff);
    await db().update(apiKeys).set({ status: "disabled", disabledByAdmin: true, disabledBy: admin.userId }).where(eq(apiKeys.id, key.id));
    expect((await getOwnApiKey(staff, key.id)).disabledByAdmin).toBe(true);
    const before = await snapshot();
    await expect(setOwnApiKeyStatus(staff, key.id, "active")).rejects.toMatchObject({ code: "forbidden", message: KEY_LOCKED_MESSAGE });
    await expectUnchanged(before);
    expect(await authenticateApiKey(secret, null)).toBeNull();
  });

  it("re-checks the role in the database: a Read & Write key is refused to a user downgraded meanwhile", async () => {
    const staff = await makeUser("staff");
    await db().update(users).set({ role: "read_only" }).where(eq(users.id, staff.userId));
    const before = await snapshot();
    // `staff` still says "staff": the actor was read before the downgrade committed.
    await expect(createApiKey(staff, { name: uniqueName(), access_level: "read_write" })).rejects.toMatchObject({
      code: "forbidden",
      field: "access_level",
    });
    await expectUnchanged(before);
  });

  it("a key whose user was downgraded below its level no longer authenticates", async () => {
    const staff = await makeUser("staff");
    const { secret } = await keyOf(staff, "read_write");
    await db().update(users).set({ role: "read_only" }).where(eq(users.id, staff.userId));
    expect(await authenticateApiKey(secret, null)).toBeNull();
  });
});

describe("who may do what, as a table", () => {
  const ROLES: Role[] = ["owner", "admin", "staff", "read_only", "lite"];
  interface KeyOp {
    run: (actor: Actor, id: string) => Promise<unknown>;
    /** Puts the key where the operation changes something (enabling needs a disabled key). */
    prepare?: (id: string) => Promise<void>;
    /** The audit row an allowed call writes; null for a plain read. */
    audit: AuditAction | null;
    /** What an allowed call did, read back from the database (not from its return value). */
    effect: (c: { id: string; secret: string; actor: Actor; before: ApiKey; after: ApiKey | undefined; result: unknown }) => Promise<void>;
  }
  const unchanged: KeyOp["effect"] = async ({ before, after }) => expect(after).toEqual(before);
  const revealed: KeyOp["effect"] = async ({ before, after, secret, result }) => {
    expect(after).toEqual(before);
    expect(result).toBe(secret);
  };
  const OPS: Record<string, KeyOp> = {
    get: { run: (a, id) => getOwnApiKey(a, id), audit: null, effect: unchanged },
    reveal: { run: (a, id) => revealApiKey(a, id, "reveal"), audit: "api_key.revealed", effect: revealed },
    copy: { run: (a, id) => revealApiKey(a, id, "copy"), audit: "api_key.copied", effect: revealed },
    qr: { run: (a, id) => revealApiKey(a, id, "qr"), audit: "api_key.qr_viewed", effect: revealed },
    rename: {
      run: (a, id) => renameApiKey(a, id, `renamed ${id}`),
      audit: "api_key.renamed",
      effect: async ({ id, before, after, secret }) => {
        expect(after).toMatchObject({
          name: `renamed ${id}`,
          digest: before.digest,
          status: before.status,
          accessLevel: before.accessLevel,
        });
        expect((await authenticateApiKey(secret, null))?.key.name).toBe(`renamed ${id}`);
      },
    },
    disable: {
      run: (a, id) => setOwnApiKeyStatus(a, id, "disabled"),
      audit: "api_key.disabled",
      effect: async ({ actor, before, after, secret }) => {
        expect(after).toMatchObject({ status: "disabled", disabledByAdmin: false, disabledBy: actor.userId, digest: before.digest });
        expect(await authenticateApiKey(secret, null)).toBeNull();
      },
    },
    enable: {
      run: (a, id) => setOwnApiKeyStatus(a, id, "active"),
      // Disabled by its own holder, so the holder may enable it again.
      prepare: async (id) => {
        await db()
          .update(apiKeys)
          .set({ status: "disabled", disabledBy: sql`${apiKeys.userId}` })
          .where(eq(apiKeys.id, id));
      },
      audit: "api_key.enabled",
      effect: async ({ id, before, after, secret }) => {
        expect(after).toMatchObject({ status: "active", disabledByAdmin: false, disabledBy: null, digest: before.digest });
        expect((await authenticateApiKey(secret, null))?.key.id).toBe(id);
      },
    },
    regenerate: {
      run: (a, id) => regenerateApiKey(a, id),
      audit: "api_key.regenerated",
      effect: async ({ id, actor, before, after, secret }) => {
        expect(after).toMatchObject({ id, name: before.name, accessLevel: before.accessLevel, status: "active" });
        expect(after!.digest).not.toBe(before.digest);
        expect(after!.secretCiphertext).not.toBe(before.secretCiphertext);
        expect(await authenticateApiKey(secret, null)).toBeNull();
        // The secret now stored (and revealed to its owner) is a different one, and it works.
        const next = await revealApiKey(actor, id, "reveal");
        expect(next).not.toBe(secret);
        expect((await authenticateApiKey(next, null))?.key.id).toBe(id);
      },
    },
    delete: {
      run: (a, id) => deleteApiKey(a, id),
      audit: "api_key.deleted",
      effect: async ({ after, secret }) => {
        expect(after).toBeUndefined();
        expect(await authenticateApiKey(secret, null)).toBeNull();
      },
    },
  };

  const actors = {} as Record<Role, Actor>;
  let victim: Actor;
  beforeAll(async () => {
    // Keys of the owner and admins are made while they hold a role that may have them.
    for (const role of ROLES) actors[role] = await makeUser(role);
    victim = await makeUser("staff");
  });

  for (const role of ROLES) {
    for (const [name, op] of Object.entries(OPS)) {
      const allowedOnOwn = role !== "lite";
      it(`${role} ${name} own key: ${allowedOnOwn ? "allowed, and it takes effect" : "forbidden"}`, async () => {
        const actor = actors[role];
        if (allowedOnOwn) {
          const { key, secret } = await keyOf(actor);
          await op.prepare?.(key.id);
          const row = (await keyRow(key.id))!;
          const before = await snapshot();
          const result = await op.run(actor, key.id);
          await expectOnlyChanged(before, { api_keys: [key.id] });
          const audit = await auditSince(before);
          if (op.audit) {
            expect(audit).toHaveLength(1);
            expect(audit[0]).toMatchObject({
              action: op.audit,
              actorUserId: actor.userId,
              actorKeyId: null,
              targetType: "api_key",
              targetId: key.id,
            });
          } else {
            expect(audit).toEqual([]);
          }
          await op.effect({ id: key.id, secret, actor, before: row, after: await keyRow(key.id), result });
        } else {
          // A Lite user has no keys; even a key row of theirs (left by a bug) is refused.
          const { key } = await keyOf(victim);
          await op.prepare?.(key.id);
          await db().update(apiKeys).set({ userId: actor.userId }).where(eq(apiKeys.id, key.id));
          const before = await snapshot();
          await expect(op.run(actor, key.id)).rejects.toMatchObject({
            code: "forbidden",
            message: "Your role (Lite) cannot have API keys.",
          });
          await expectUnchanged(before);
        }
      });

      it(`${role} ${name} another user's key: refused as not found (or forbidden for Lite), nothing changes`, async () => {
        const { key } = await keyOf(victim, "read_write");
        await op.prepare?.(key.id);
        const before = await snapshot();
        await expect(op.run(actors[role], key.id)).rejects.toMatchObject(
          role === "lite" ? { code: "forbidden" } : { code: "not_found", message: KEY_NOT_FOUND },
        );
        await expectUnchanged(before);
      });
    }

    it(`${role} creating keys of each level`, async () => {
      const actor = actors[role];
      for (const level of ["read_only", "read_write"] as const) {
        const allowed = role === "lite" ? false : level === "read_only" ? true : role !== "read_only";
        const name = uniqueName();
        const before = await snapshot();
        const attempt = createApiKey(actor, { name, access_level: level });
        if (allowed) {
          await expect(attempt).resolves.toBeDefined();
          const [row] = await db()
            .select()
            .from(apiKeys)
            .where(and(eq(apiKeys.userId, actor.userId), eq(apiKeys.name, name)));
          expect(row).toMatchObject({ accessLevel: level, status: "active", disabledByAdmin: false, lastUsedAt: null });
          await expectOnlyChanged(before, { api_keys: [row!.id] });
          expect(Object.keys((await snapshot()).rows.api_keys)).toHaveLength(Object.keys(before.rows.api_keys).length + 1);
          const audit = await auditSince(before);
          expect(audit).toHaveLength(1);
          expect(audit[0]).toMatchObject({ action: "api_key.created", actorUserId: actor.userId, targetId: row!.id, targetLabel: name });
          expect(audit[0]!.metadata).toEqual({ access_level: level, expires_at: null });
        } else {
          await expect(attempt).rejects.toMatchObject({ code: "forbidden" });
          await expectUnchanged(before);
        }
      }
    });
  }

  it("a Lite user's list is empty and explains nothing is wrong", async () => {
    expect(await listOwnApiKeys(actors.lite)).toEqual([]);
  });

  it("writes through a Read-only API key are refused; reads are fine", async () => {
    const staff = await makeUser("staff");
    const { key } = await keyOf(staff, "read_only");
    const viaKey: Actor = { ...staff, apiKey: { id: key.id, name: key.name, accessLevel: "read_only" } };
    const before = await snapshot();
    const readOnly = { code: "forbidden", message: READ_ONLY_KEY_MESSAGE };
    await expect(createApiKey(viaKey, { name: uniqueName(), access_level: "read_only" })).rejects.toMatchObject(readOnly);
    await expect(renameApiKey(viaKey, key.id, "x")).rejects.toMatchObject(readOnly);
    await expect(setOwnApiKeyStatus(viaKey, key.id, "disabled")).rejects.toMatchObject(readOnly);
    await expect(regenerateApiKey(viaKey, key.id)).rejects.toMatchObject(readOnly);
    await expect(deleteApiKey(viaKey, key.id)).rejects.toMatchObject(readOnly);
    await expect(revealApiKey(viaKey, key.id, "reveal")).rejects.toMatchObject({ code: "forbidden" });
    await expectUnchanged(before);
    await expect(getOwnApiKey(viaKey, key.id)).resolves.toMatchObject({ id: key.id });
  });
});

describe("bad input changes nothing", () => {
  it.each([
    [{ name: "", access_level: "read_only" }, "name", "Enter a name."],
    [{ name: "   ", access_level: "read_only" }, "name", "Enter a name."],
    [{ name: "x".repeat(101), access_level: "read_only" }, "name", "The name must be at most 100 characters."],
    [{ name: "bad\u0000name", access_level: "read_only" }, "name", "The name cannot contain control characters."],
    [{ name: "new\nline", access_level: "read_only" }, "name", "The name cannot contain control characters."],
    [{ name: "ok", access_level: "admin" }, "access_level", "Choose an access level: Read-only or Read & Write."],
    [{ name: 42, access_level: "read_only" }, "name", "Enter a name."],
  ])("create %j is refused on %s", (input, field, message) => {
    const parsed = createApiKeySchema.safeParse(input);
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues.find((i) => i.path[0] === field);
    expect(issue?.message).toBe(message);
  });

  it("accepts exactly 100 characters after trimming, and defaults the level to Read-only", () => {
    expect(createApiKeySchema.parse({ name: `  ${"x".repeat(100)}  ` })).toEqual({ name: "x".repeat(100), access_level: "read_only" });
  });

  it("refuses a duplicate name in another case, for the same user only", async () => {
    const staff = await makeUser("staff");
    const other = await makeUser("staff");
    await createApiKey(staff, { name: "Billing Sync", access_level: "read_only" });
    const before = await snapshot();
    await expect(createApiKey(staff, { name: "billing sync", access_level: "read_only" })).rejects.toMatchObject({
      code: "conflict",
      field: "name",
      message: "You already have an API key with this name.",
    });
    await expectUnchanged(before);
    await expect(createApiKey(other, { name: "BILLING SYNC", access_level: "read_only" })).resolves.toBeTruthy();
    const named = await db().select().from(apiKeys).where(eq(apiKeys.nameLower, "billing sync"));
    expect(named.map((k) => [k.userId, k.name]).sort()).toEqual(
      [
        [staff.userId, "Billing Sync"],
        [other.userId, "BILLING SYNC"],
      ].sort(),
    );
  });

  it("refuses a rename onto another key's name (any case)", async () => {
    const staff = await makeUser("staff");
    await createApiKey(staff, { name: "Alpha", access_level: "read_only" });
    const { key } = await createApiKey(staff, { name: "Beta", access_level: "read_only" });
    const before = await snapshot();
    await expect(renameApiKey(staff, key.id, "ALPHA")).rejects.toMatchObject({
      code: "conflict",
      field: "name",
      message: "You already have an API key with this name.",
    });
    await expectUnchanged(before);
  });

  it.each(["not-a-uuid", "", "1; drop table api_keys", randomUUID()])("refuses the id %j as not found", async (id) => {
    const staff = await makeUser("staff");
    const before = await snapshot();
    const notFound = { code: "not_found", message: KEY_NOT_FOUND };
    await expect(renameApiKey(staff, id, "x")).rejects.toMatchObject(notFound);
    await expect(setOwnApiKeyStatus(staff, id, "disabled")).rejects.toMatchObject(notFound);
    await expect(regenerateApiKey(staff, id)).rejects.toMatchObject(notFound);
    await expect(revealApiKey(staff, id, "reveal")).rejects.toMatchObject(notFound);
    await expect(deleteApiKey(staff, id)).rejects.toMatchObject(notFound);
    await expectUnchanged(before);
    expect(renameApiKeySchema.safeParse({ id, name: "x" }).success).toBe(id.length === 36);
  });

  it("refuses keys with a bad checksum or shape without finding anything", async () => {
    const staff = await makeUser("staff");
    const { secret } = await keyOf(staff);
    const flipped = secret.slice(0, -1) + (secret.endsWith("a") ? "b" : "a");
    for (const bad of [flipped, secret.toUpperCase(), `${secret}x`, "", "lk_short", secret.replace("lk_", "sk_")]) {
      expect(await authenticateApiKey(bad, null)).toBeNull();
    }
  });
});

describe("the plaintext key is never stored", () => {
  it("appears in no table of a full database dump", async () => {
    const staff = await makeUser("staff");
    const created = await createApiKey(staff, { name: uniqueName("dump"), access_level: "read_write" });
    const regenerated = await regenerateApiKey(staff, created.key.id);
    await revealApiKey(staff, created.key.id, "copy");
    await authenticateApiKey(regenerated.secret, "192.0.2.9");
    const tables = await db().execute<{ schemaname: string; tablename: string }>(
      sql`select schemaname, tablename from pg_tables where schemaname in ('public', 'drizzle')`,
    );
    expect(tables.length).toBeGreaterThanOrEqual(4);
    let dump = "";
    for (const { schemaname, tablename } of tables) {
      const rows = await db().execute(sql.raw(`select * from "${schemaname}"."${tablename}"`));
      dump += JSON.stringify(rows);
    }
    expect(dump.length).toBeGreaterThan(1000);
    expect(dump).toContain(created.key.id);
    for (const secret of [created.secret, regenerated.secret]) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice(3, 40)); // nor any long run of it
    }
  });
});
