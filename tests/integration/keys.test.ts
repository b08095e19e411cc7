import { randomUUID } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { apiKeys, auditLog, users, type Role } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { isWellFormedApiKey } from "@/lib/keys/format";
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
import { countRows, makeUser } from "../helpers/fixtures";

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

/** Everything a test can observe about the keys table and the audit log, to prove "no change". */
async function snapshot() {
  const rows = await db().select().from(apiKeys).orderBy(apiKeys.id);
  return { keys: JSON.stringify(rows), audit: await countRows("audit_log") };
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
    await db().update(apiKeys).set({ lastUsedAt: new Date(Date.now() - 61_000) }).where(eq(apiKeys.id, key.id));
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
    expect(await authenticateApiKey(secret, null)).toBeNull();
    await setOwnApiKeyStatus(staff, key.id, "active");
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
    await deleteApiKey(staff, key.id);
    expect(await authenticateApiKey(secret, null)).toBeNull();
    await expect(getOwnApiKey(staff, key.id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("an admin-disabled key cannot be enabled by its owner", async () => {
    const staff = await makeUser("staff");
    const admin = await makeUser("admin");
    const { key, secret } = await keyOf(staff);
    await db().update(apiKeys).set({ status: "disabled", disabledByAdmin: true, disabledBy: admin.userId }).where(eq(apiKeys.id, key.id));
    expect((await getOwnApiKey(staff, key.id)).disabledByAdmin).toBe(true);
    await expect(setOwnApiKeyStatus(staff, key.id, "active")).rejects.toMatchObject({ code: "forbidden" });
    expect(await authenticateApiKey(secret, null)).toBeNull();
  });

  it("re-checks the role in the database: a Read & Write key is refused to a user downgraded meanwhile", async () => {
    const staff = await makeUser("staff");
    await db().update(users).set({ role: "read_only" }).where(eq(users.id, staff.userId));
    const before = await countRows("api_keys");
    // `staff` still says "staff": the actor was read before the downgrade committed.
    await expect(createApiKey(staff, { name: uniqueName(), access_level: "read_write" })).rejects.toMatchObject({
      code: "forbidden",
      field: "access_level",
    });
    expect(await countRows("api_keys")).toBe(before);
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
  type Op = (actor: Actor, id: string) => Promise<unknown>;
  const OPS: Record<string, Op> = {
    get: (a, id) => getOwnApiKey(a, id),
    reveal: (a, id) => revealApiKey(a, id, "reveal"),
    copy: (a, id) => revealApiKey(a, id, "copy"),
    qr: (a, id) => revealApiKey(a, id, "qr"),
    rename: (a, id) => renameApiKey(a, id, uniqueName("renamed")),
    disable: (a, id) => setOwnApiKeyStatus(a, id, "disabled"),
    enable: (a, id) => setOwnApiKeyStatus(a, id, "active"),
    regenerate: (a, id) => regenerateApiKey(a, id),
    delete: (a, id) => deleteApiKey(a, id),
  };

  const actors = {} as Record<Role, Actor>;
  let victim: Actor;
  beforeAll(async () => {
    // Keys of the owner and admins are made while they hold a role that may have them.
    for (const role of ROLES) actors[role] = await makeUser(role);
    victim = await makeUser("staff");
  });

  for (const role of ROLES) {
    for (const [op, run] of Object.entries(OPS)) {
      const allowedOnOwn = role !== "lite";
      it(`${role} ${op} own key: ${allowedOnOwn ? "allowed" : "forbidden"}`, async () => {
        const actor = actors[role];
        if (allowedOnOwn) {
          const { key } = await keyOf(actor);
          await expect(run(actor, key.id)).resolves.not.toThrow();
        } else {
          // A Lite user has no keys; even a key row of theirs (left by a bug) is refused.
          const { key } = await keyOf(victim);
          await db().update(apiKeys).set({ userId: actor.userId }).where(eq(apiKeys.id, key.id));
          const before = await snapshot();
          await expect(run(actor, key.id)).rejects.toMatchObject({ code: "forbidden" });
          expect(await snapshot()).toEqual(before);
        }
      });

      it(`${role} ${op} another user's key: refused as not found (or forbidden for Lite), nothing changes`, async () => {
        const { key } = await keyOf(victim, "read_write");
        const before = await snapshot();
        await expect(run(actors[role], key.id)).rejects.toMatchObject({ code: role === "lite" ? "forbidden" : "not_found" });
        expect(await snapshot()).toEqual(before);
      });
    }

    it(`${role} creating keys of each level`, async () => {
      const actor = actors[role];
      for (const level of ["read_only", "read_write"] as const) {
        const allowed = role === "lite" ? false : level === "read_only" ? true : role !== "read_only";
        const before = await countRows("api_keys");
        const attempt = createApiKey(actor, { name: uniqueName(), access_level: level });
        if (allowed) {
          await expect(attempt).resolves.toMatchObject({ key: { accessLevel: level } });
          expect(await countRows("api_keys")).toBe(before + 1);
        } else {
          await expect(attempt).rejects.toMatchObject({ code: "forbidden" });
          expect(await countRows("api_keys")).toBe(before);
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
    await expect(createApiKey(viaKey, { name: uniqueName(), access_level: "read_only" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(renameApiKey(viaKey, key.id, "x")).rejects.toMatchObject({ code: "forbidden" });
    await expect(deleteApiKey(viaKey, key.id)).rejects.toMatchObject({ code: "forbidden" });
    await expect(revealApiKey(viaKey, key.id, "reveal")).rejects.toMatchObject({ code: "forbidden" });
    expect(await snapshot()).toEqual(before);
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
    expect(await snapshot()).toEqual(before);
    await expect(createApiKey(other, { name: "BILLING SYNC", access_level: "read_only" })).resolves.toBeTruthy();
  });

  it("refuses a rename onto another key's name (any case)", async () => {
    const staff = await makeUser("staff");
    await createApiKey(staff, { name: "Alpha", access_level: "read_only" });
    const { key } = await createApiKey(staff, { name: "Beta", access_level: "read_only" });
    const before = await snapshot();
    await expect(renameApiKey(staff, key.id, "ALPHA")).rejects.toMatchObject({ code: "conflict", field: "name" });
    expect(await snapshot()).toEqual(before);
  });

  it.each(["not-a-uuid", "", "1; drop table api_keys", randomUUID()])("refuses the id %j as not found", async (id) => {
    const staff = await makeUser("staff");
    const before = await snapshot();
    await expect(renameApiKey(staff, id, "x")).rejects.toMatchObject({ code: "not_found" });
    await expect(deleteApiKey(staff, id)).rejects.toMatchObject({ code: "not_found" });
    expect(await snapshot()).toEqual(before);
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
