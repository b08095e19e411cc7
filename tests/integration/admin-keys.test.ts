import { eq, sql } from "drizzle-orm";
import { READ_ONLY_KEY_MESSAGE } from "@/lib/keys/messages";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/runtime";
import { escapeLike } from "@/db/sql";
import { apiKeys, auditLog, type Role } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { deleteApiKeyAsAdmin, listApiKeysForAdmin, setApiKeyStatusAsAdmin, type AdminKeyRow } from "@/lib/keys/admin";
import { announceKeyChange } from "@/lib/keys/revocation";
import { authenticateApiKey, createApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { KEY_LOCKED_MESSAGE, KEY_NOT_FOUND } from "@/lib/keys/messages";
import { KEY_SORTS, parseAccessManagerQuery, type AccessManagerQuery, type KeySort } from "@/lib/validation/admin";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, keyRow, makeUser, snapshot } from "../helpers/fixtures";

// Every call of announceKeyChange is recorded (and still runs), to check it happens inside the
// change's transaction.
vi.mock("@/lib/keys/revocation", async (importOriginal) => {
  const original = await importOriginal<typeof import("@/lib/keys/revocation")>();
  return { ...original, announceKeyChange: vi.fn(original.announceKeyChange) };
});

let teardown: () => Promise<void>;
let owner: Actor, admin: Actor, staff: Actor, reader: Actor, lite: Actor, staff2: Actor;
const secrets = new Map<string, string>();
let total = 0;

async function key(actor: Actor, name: string, level: "read_only" | "read_write" = "read_only") {
  const { key, secret } = await createApiKey(actor, { name, access_level: level });
  secrets.set(name, secret);
  total++;
  return key;
}

beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner", { name: "Olive Owner", email: "olive@example.test" });
  admin = await makeUser("admin", { name: "adam Admin", email: "adam@example.test" });
  staff = await makeUser("staff", { name: "Sam Staff", email: "sam@example.test" });
  staff2 = await makeUser("staff", { name: "Zoe Zed", email: "zoe@corp.example" });
  reader = await makeUser("read_only", { name: "Rita Reader", email: "rita@example.test" });
  lite = await makeUser("lite", { name: "Lee Lite", email: "lee@example.test" });
  await key(owner, "Finance export");
  await key(admin, "ops automation", "read_write");
  await key(staff, "Billing sync", "read_write");
  await key(staff, "metabase");
  await key(staff, "100%_off\\back'slash", "read_write");
  await key(reader, "Weekly report");
  for (let i = 1; i <= 30; i++) await key(staff2, `bulk-${String(i).padStart(2, "0")}`, i % 3 ? "read_only" : "read_write");
  // Usage times: some keys used (distinct times), the others never.
  const used = ["bulk-03", "Billing sync", "bulk-17", "Weekly report", "bulk-29"];
  for (const [i, name] of used.entries()) {
    await db().execute(sql`update api_keys set last_used_at = now() - make_interval(hours => ${i + 1}) where name = ${name}`);
  }
  // Expiries (in the future: the status filters below count Active keys), so sorting by Expires has
  // dates to order as well as never-expiring keys.
  for (const [name, days] of [
    ["bulk-05", 10],
    ["bulk-10", 3],
    ["Finance export", 40],
    ["bulk-22", 3],
  ] as const) {
    await db().execute(sql`update api_keys set expires_at = now() + make_interval(days => ${days}) where name = ${name}`);
  }
});
afterAll(() => teardown());

const q = (params: Record<string, string> = {}): AccessManagerQuery => parseAccessManagerQuery(params);

async function all(actor: Actor, params: Record<string, string> = {}): Promise<AdminKeyRow[]> {
  return (await listApiKeysForAdmin(actor, q({ ...params, size: "100" }))).rows;
}

const ROLE_ORDER: Role[] = ["owner", "admin", "staff", "read_only", "lite"];
/** The primary sort value of a row, comparable with < in the database's order. */
function primary(sort: KeySort, row: AdminKeyRow): string | number | null {
  switch (sort) {
    case "name":
      return row.name.toLowerCase();
    case "accessLevel":
      return row.accessLevel;
    case "user":
      return row.user.name.toLowerCase();
    case "createdAt":
      return row.createdAt.getTime();
    case "role":
      return ROLE_ORDER.indexOf(row.user.role);
    case "status":
      return row.status;
    case "lastUsedAt":
      return row.lastUsedAt?.getTime() ?? null;
    case "expiresAt":
      // Never-expiring keys sort after every date.
      return row.expiresAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
  }
}

describe("who may use the Access Manager", () => {
  it.each(["owner", "admin"] as const)("%s sees every key of the organisation", async (role) => {
    const actor = role === "owner" ? owner : admin;
    const page = await listApiKeysForAdmin(actor, q());
    expect(page.total).toBe(total);
  });

  it.each(["staff", "read_only", "lite"] as const)("%s is refused every Access Manager operation, and nothing changes", async (role) => {
    const actor = role === "staff" ? staff : role === "read_only" ? reader : lite;
    const target = (await all(owner, { q: "Finance" }))[0]!;
    // A disabled key too, so that "enable" would change something if it were let through.
    const locked = await key(owner, `locked for ${role}`);
    await db()
      .update(apiKeys)
      .set({ status: "disabled", disabledByAdmin: true, disabledBy: admin.userId })
      .where(eq(apiKeys.id, locked.id));
    const before = await snapshot();
    const refused = { code: "forbidden", message: "You do not have permission to do that." };
    await expect(listApiKeysForAdmin(actor, q())).rejects.toMatchObject(refused);
    await expect(setApiKeyStatusAsAdmin(actor, target.id, "disabled")).rejects.toMatchObject(refused);
    await expect(setApiKeyStatusAsAdmin(actor, locked.id, "active")).rejects.toMatchObject(refused);
    await expect(deleteApiKeyAsAdmin(actor, target.id)).rejects.toMatchObject(refused);
    await expectUnchanged(before);
    await db().delete(apiKeys).where(eq(apiKeys.id, locked.id));
    total--;
  });

  it("through an API key: the page's listing stays in the browser; a change needs a Read & Write key (SPEC §13)", async () => {
    const viaKey = { ...admin, apiKey: { id: "00000000-0000-4000-8000-000000000000", name: "x", accessLevel: "read_only" as const } };
    const target = (await all(owner, { q: "Finance" }))[0]!;
    const before = await snapshot();
    await expect(listApiKeysForAdmin(viaKey, q())).rejects.toMatchObject({
      code: "forbidden",
      message: "The API Access Manager is only available in the browser.",
    });
    // The admin API's own answers through a Read & Write key are tested in api-admin.test.ts.
    const readOnly = { code: "forbidden", message: READ_ONLY_KEY_MESSAGE };
    await expect(setApiKeyStatusAsAdmin(viaKey, target.id, "disabled")).rejects.toMatchObject(readOnly);
    await expect(deleteApiKeyAsAdmin(viaKey, target.id)).rejects.toMatchObject(readOnly);
    await expectUnchanged(before);
  });
});

describe("listing", () => {
  it("returns the key object and the admin's columns only: never a secret, ciphertext or digest", async () => {
    const page = await listApiKeysForAdmin(admin, q({ size: "100" }));
    expect(Object.keys(page.rows[0]!).sort()).toEqual([
      "accessLevel",
      "createdAt",
      "description",
      "disabledByAdmin",
      "disabledReason",
      "expiresAt",
      "id",
      "lastUsedAt",
      "lastUsedIp",
      "maskedKey",
      "name",
      "overPolicy",
      "previousSecretExpiresAt",
      "state",
      "status",
      "user",
    ]);
    // The masked key shows what its holder sees: the prefix and the last four characters, no more.
    for (const row of page.rows) {
      const secret = secrets.get(row.name);
      if (secret) expect(row.maskedKey).toBe(`${secret.slice(0, 7)}${"•".repeat(8)}${secret.slice(-4)}`);
    }
    expect(Object.keys(page.rows[0]!.user).sort()).toEqual(["email", "id", "kind", "name", "role"]);
    const text = JSON.stringify(page);
    for (const secret of secrets.values()) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(-8));
    }
  });

  it("defaults to the newest keys first, 25 a page, with the total", async () => {
    const page = await listApiKeysForAdmin(admin, q());
    expect(page.query).toMatchObject({ sort: "createdAt", dir: "desc", page: 1, size: 25 });
    expect(page.rows).toHaveLength(25);
    expect(page.total).toBe(total);
    expect(page.pageCount).toBe(Math.ceil(total / 25));
    expect(page.rows[0]!.name).toBe("bulk-30");
  });

  it.each(KEY_SORTS)("sorts by %s in both directions, each the exact reverse of the other", async (sort) => {
    const asc = await all(admin, { sort, dir: "asc" });
    const desc = await all(admin, { sort, dir: "desc" });
    expect(asc).toHaveLength(total);
    expect(desc.map((r) => r.id)).toEqual([...asc].reverse().map((r) => r.id));
    for (let i = 1; i < asc.length; i++) {
      const [a, b] = [primary(sort, asc[i - 1]!), primary(sort, asc[i]!)];
      // Ascending: never-used keys come first for "Last used", then the oldest use.
      if (a === null) continue;
      expect(b, `${sort} at ${i}`).not.toBeNull();
      expect(a <= b!, `${sort} at ${i}: ${a} then ${b}`).toBe(true);
    }
  });

  it("puts never-used keys last when sorting by most recent use", async () => {
    const rows = await all(admin, { sort: "lastUsedAt", dir: "desc" });
    expect(rows.slice(0, 5).map((r) => r.name)).toEqual(["bulk-03", "Billing sync", "bulk-17", "Weekly report", "bulk-29"]);
    expect(rows.slice(5).every((r) => r.lastUsedAt === null)).toBe(true);
  });

  it("sorts names case-insensitively", async () => {
    const names = (await all(admin, { sort: "name", dir: "asc" })).map((r) => r.name);
    expect(names.indexOf("metabase")).toBeGreaterThan(names.indexOf("Finance export"));
    expect(names.indexOf("ops automation")).toBeLessThan(names.indexOf("Weekly report"));
  });

  it.each([
    [{ status: "disabled" }, (r: AdminKeyRow) => r.status === "disabled"],
    [{ level: "read_write" }, (r: AdminKeyRow) => r.accessLevel === "read_write"],
    [{ role: "staff" }, (r: AdminKeyRow) => r.user.role === "staff"],
    [{ role: "read_only", level: "read_only" }, (r: AdminKeyRow) => r.user.role === "read_only" && r.accessLevel === "read_only"],
    [{ role: "lite" }, () => false],
  ] as const)("filters %j in the database, with a matching total", async (filter, keep) => {
    const everything = await all(admin);
    const expected = everything.filter(keep);
    const page = await listApiKeysForAdmin(admin, q({ ...filter, size: "100" }));
    expect(page.total).toBe(expected.length);
    expect(page.rows.map((r) => r.id).sort()).toEqual(expected.map((r) => r.id).sort());
  });

  it.each([
    ["BILLING", ["Billing sync"]],
    ["export", ["Finance export"]],
    ["rita", ["Weekly report"]], // a user's name
    ["zoe@corp", 30], // a user's email: all of Zoe's keys
    ["adam admin", ["ops automation"]],
  ] as const)("searches key names, user names and emails case-insensitively: %s", async (text, expected) => {
    const page = await listApiKeysForAdmin(admin, q({ q: text, size: "100" }));
    if (typeof expected === "number") expect(page.total).toBe(expected);
    else expect(page.rows.map((r) => r.name).sort()).toEqual([...expected].sort());
  });

  it.each([
    ["%", ["100%_off\\back'slash"]],
    ["_", ["100%_off\\back'slash"]],
    ["\\", ["100%_off\\back'slash"]],
    ["'", ["100%_off\\back'slash"]],
    ["%_off\\b", ["100%_off\\back'slash"]],
    ["bulk_0", []],
    ["' or 1=1 --", []],
    ["(.*)[a-z]+$", []],
  ])("treats LIKE and regex characters in a search literally: %j", async (text, expected) => {
    const page = await listApiKeysForAdmin(admin, q({ q: text }));
    expect(page.rows.map((r) => r.name)).toEqual(expected);
    expect(page.total).toBe(expected.length);
  });

  it("escapes LIKE wildcards and the escape character", () => {
    expect(escapeLike("100%_\\x")).toBe("100\\%\\_\\\\x");
  });

  it("combines search, filters and sort", async () => {
    const page = await listApiKeysForAdmin(admin, q({ q: "bulk", level: "read_write", sort: "name", dir: "desc" }));
    expect(page.rows.map((r) => r.name)).toEqual([
      "bulk-30",
      "bulk-27",
      "bulk-24",
      "bulk-21",
      "bulk-18",
      "bulk-15",
      "bulk-12",
      "bulk-09",
      "bulk-06",
      "bulk-03",
    ]);
  });
});

describe("pagination", () => {
  it.each(["createdAt", "name", "user", "role", "lastUsedAt"] as const)(
    "pages through everything, sorted by %s, with no row twice or missing (both halves of the table)",
    async (sort) => {
      const expected = (await all(admin, { sort, dir: "asc" })).map((r) => r.id);
      const seen: string[] = [];
      const first = await listApiKeysForAdmin(admin, q({ sort, dir: "asc", size: "10" }));
      for (let page = 1; page <= first.pageCount; page++) {
        const result = await listApiKeysForAdmin(admin, q({ sort, dir: "asc", size: "10", page: String(page) }));
        expect(result.query.page).toBe(page);
        seen.push(...result.rows.map((r) => r.id));
      }
      expect(seen).toEqual(expected);
    },
  );

  it("clamps a page past the end to the last page", async () => {
    const page = await listApiKeysForAdmin(admin, q({ page: "999", size: "10" }));
    expect(page.query.page).toBe(Math.ceil(total / 10));
    expect(page.rows).toHaveLength(total % 10 || 10);
  });

  it("clamps a page past the end of a search too, and pages a search without gaps", async () => {
    const page = await listApiKeysForAdmin(admin, q({ q: "bulk", size: "10", page: "99", sort: "name", dir: "asc" }));
    expect(page).toMatchObject({ total: 30, pageCount: 3, query: { page: 3 } });
    expect(page.rows.map((r) => r.name)).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-${21 + i}`));
    const second = await listApiKeysForAdmin(admin, q({ q: "bulk", size: "10", page: "2", sort: "name", dir: "asc" }));
    expect(second.rows.map((r) => r.name)).toEqual(Array.from({ length: 10 }, (_, i) => `bulk-${11 + i}`));
  });

  it("shows one empty page when nothing matches", async () => {
    const page = await listApiKeysForAdmin(admin, q({ q: "nothing matches this", page: "3" }));
    expect(page).toMatchObject({ rows: [], total: 0, pageCount: 1, query: { page: 1 } });
  });
});

describe("bad URL state falls back to defaults", () => {
  it.each([
    [{ sort: "password_hash" }, { sort: "createdAt" }],
    [{ sort: "name; drop table users" }, { sort: "createdAt" }],
    [{ dir: "sideways" }, { dir: "desc" }],
    [{ page: "-3" }, { page: 1 }],
    [{ page: "2.5" }, { page: 1 }],
    [{ page: "abc" }, { page: 1 }],
    [{ page: "1e9" }, { page: 1 }],
    [{ size: "-10" }, { size: 25 }],
    [{ size: "1000" }, { size: 25 }],
    [{ size: "0" }, { size: 25 }],
    [{ status: "deleted" }, { status: undefined }],
    [{ level: "admin" }, { level: undefined }],
    [{ role: "superuser" }, { role: undefined }],
    [{ q: "  spaced  " }, { q: "spaced" }],
    [{ q: "a".repeat(500) }, { q: "a".repeat(100) }],
    [{ q: "line\nbreak\u0000" }, { q: "line break" }],
  ])("%j -> %j", async (raw, expected) => {
    const query = parseAccessManagerQuery(raw);
    expect(query).toMatchObject(expected);
    await expect(listApiKeysForAdmin(admin, query)).resolves.toBeDefined();
  });

  it("takes the first of repeated parameters, and a URLSearchParams as well as a record", () => {
    expect(parseAccessManagerQuery({ role: ["admin", "owner"], sort: ["name", "x"] })).toMatchObject({ role: "admin", sort: "name" });
    expect(parseAccessManagerQuery(new URLSearchParams("role=lite&role=admin&page=2"))).toMatchObject({ role: "lite", page: 2 });
  });

  it("re-checks a query given to the service directly (it trusts no caller)", async () => {
    const forged = { ...q(), sort: "secret_ciphertext", size: -5, page: -1 } as unknown as AccessManagerQuery;
    const page = await listApiKeysForAdmin(admin, forged);
    expect(page.query).toMatchObject({ sort: "createdAt", size: 25, page: 1 });
  });
});

describe("disable, enable and delete any key", () => {
  it("disables a key: it stops working, its owner cannot enable it, the change is announced in its transaction and audited", async () => {
    const target = (await all(admin, { q: "Billing sync" }))[0]!;
    const secret = secrets.get("Billing sync")!;
    expect(await authenticateApiKey(secret, null)).not.toBeNull();
    vi.mocked(announceKeyChange).mockClear();

    const before = await snapshot();
    await expect(setApiKeyStatusAsAdmin(admin, target.id, "disabled")).resolves.toEqual({ name: "Billing sync", status: "disabled" });
    await expectOnlyChanged(before, { api_keys: [target.id] });
    expect(await auditSince(before)).toHaveLength(1);
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, target.id));
    expect(row).toMatchObject({ status: "disabled", disabledByAdmin: true, disabledBy: admin.userId });
    expect(await authenticateApiKey(secret, null)).toBeNull();
    expect(vi.mocked(announceKeyChange)).toHaveBeenCalledTimes(1);
    const [tx, change] = vi.mocked(announceKeyChange).mock.calls[0]!;
    expect(change).toEqual({ keyIds: [target.id] });
    expect(tx).not.toBe(db()); // the transaction's handle, not the pool

    await expect(setOwnApiKeyStatus(staff, target.id, "active")).rejects.toMatchObject({ code: "forbidden" });
    const listed = (await all(admin, { q: "Billing sync" }))[0]!;
    expect(listed).toMatchObject({ status: "disabled", disabledByAdmin: true });

    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, target.id))
      .orderBy(sql`${auditLog.id} desc`)
      .limit(1);
    expect(audit).toMatchObject({ action: "api_key.disabled", actorUserId: admin.userId, targetLabel: "Billing sync", ip: "127.0.0.1" });
    expect(audit!.metadata).toMatchObject({ by_admin: true, key_owner: "sam@example.test" });
  });

  it("enables it again: the admin mark is cleared, the key works, and the owner manages it as before", async () => {
    const target = (await all(admin, { q: "Billing sync" }))[0]!;
    await setApiKeyStatusAsAdmin(owner, target.id, "active");
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, target.id));
    expect(row).toMatchObject({ status: "active", disabledByAdmin: false, disabledBy: null });
    expect(await authenticateApiKey(secrets.get("Billing sync")!, null)).not.toBeNull();
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, target.id))
      .orderBy(sql`${auditLog.id} desc`)
      .limit(1);
    expect(audit).toMatchObject({ action: "api_key.enabled", actorUserId: owner.userId });
    await setOwnApiKeyStatus(staff, target.id, "disabled");
    await expect(setOwnApiKeyStatus(staff, target.id, "active")).resolves.toMatchObject({ status: "active" });
  });

  it("takes over a key its owner disabled, so the owner cannot undo the admin's decision", async () => {
    const target = (await all(admin, { q: "metabase" }))[0]!;
    await setOwnApiKeyStatus(staff, target.id, "disabled");
    expect(await keyRow(target.id)).toMatchObject({ status: "disabled", disabledByAdmin: false, disabledBy: staff.userId });
    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    expect(await keyRow(target.id)).toMatchObject({ status: "disabled", disabledByAdmin: true, disabledBy: admin.userId });
    const before = await snapshot();
    await expect(setOwnApiKeyStatus(staff, target.id, "active")).rejects.toMatchObject({ code: "forbidden", message: KEY_LOCKED_MESSAGE });
    await expectUnchanged(before);
    await setApiKeyStatusAsAdmin(admin, target.id, "active");
    expect(await keyRow(target.id)).toMatchObject({ status: "active", disabledByAdmin: false, disabledBy: null });
  });

  it("does nothing (and audits nothing) when the key is already in that state", async () => {
    const target = (await all(admin, { q: "Finance" }))[0]!;
    const before = await snapshot();
    await expect(setApiKeyStatusAsAdmin(admin, target.id, "active")).resolves.toEqual({ name: "Finance export", status: "active" });
    await expectUnchanged(before);
  });

  it("deletes a key permanently, announced and audited", async () => {
    const target = (await all(admin, { q: "Weekly report" }))[0]!;
    vi.mocked(announceKeyChange).mockClear();
    const before = await snapshot();
    await expect(deleteApiKeyAsAdmin(admin, target.id)).resolves.toEqual({ name: "Weekly report" });
    total--;
    await expectOnlyChanged(before, { api_keys: [target.id] });
    expect(await auditSince(before)).toHaveLength(1);
    expect(await db().select().from(apiKeys).where(eq(apiKeys.id, target.id))).toEqual([]);
    expect(await authenticateApiKey(secrets.get("Weekly report")!, null)).toBeNull();
    expect(vi.mocked(announceKeyChange)).toHaveBeenCalledWith(expect.anything(), { keyIds: [target.id] });
    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, target.id))
      .orderBy(sql`${auditLog.id} desc`)
      .limit(1);
    expect(audit).toMatchObject({ action: "api_key.deleted", actorUserId: admin.userId, targetLabel: "Weekly report" });
    expect(audit!.metadata).toMatchObject({ by_admin: true, key_owner: "rita@example.test" });
    const after = await snapshot();
    await expect(deleteApiKeyAsAdmin(admin, target.id)).rejects.toMatchObject({ code: "not_found", message: KEY_NOT_FOUND });
    await expectUnchanged(after);
  });

  it.each(["not-a-uuid", "00000000-0000-4000-8000-000000000000", "'; delete from api_keys; --"])(
    "answers not found for an unknown key id %j, changing nothing",
    async (id) => {
      const before = await snapshot();
      const notFound = { code: "not_found", message: KEY_NOT_FOUND };
      await expect(setApiKeyStatusAsAdmin(admin, id, "disabled")).rejects.toMatchObject(notFound);
      await expect(setApiKeyStatusAsAdmin(admin, id, "active")).rejects.toMatchObject(notFound);
      await expect(deleteApiKeyAsAdmin(admin, id)).rejects.toMatchObject(notFound);
      await expectUnchanged(before);
    },
  );

  it("rolls back the change when its audit row cannot be written", async () => {
    const target = (await all(admin, { q: "Finance" }))[0]!;
    const before = await snapshot();
    await db().execute(sql.raw(`alter table audit_log add constraint test_no_disable check (action <> 'api_key.disabled') not valid`));
    try {
      await expect(setApiKeyStatusAsAdmin(admin, target.id, "disabled")).rejects.toThrow();
    } finally {
      await db().execute(sql.raw(`alter table audit_log drop constraint test_no_disable`));
    }
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, target.id));
    expect(row).toMatchObject({ status: "active", disabledByAdmin: false });
    await expectUnchanged(before);
  });
});

describe("Owner and Admin on any key, as a table: each allowed call takes effect on that key alone", () => {
  const ACTORS = ["owner", "admin"] as const;
  const HOLDERS = ["owner", "admin", "staff", "read_only"] as const;
  const OPS = ["disable", "enable", "delete"] as const;
  const actorOf = (role: (typeof ACTORS)[number]) => (role === "owner" ? owner : admin);
  // Another person's key of each role: one's own keys are the admin lock's business (below).
  const holderOf = (actor: (typeof ACTORS)[number], role: (typeof HOLDERS)[number]) =>
    role === "staff" ? staff : role === "read_only" ? reader : role === "owner" ? owner : actor === "admin" ? secondAdmin : admin;
  let secondAdmin: Actor;
  beforeAll(async () => {
    secondAdmin = await makeUser("admin", { name: "Abe Other", email: "abe@example.test" });
  });

  for (const actorRole of ACTORS) {
    // The Owner's own keys are their own (there is one Owner).
    for (const holderRole of HOLDERS.filter((h) => !(actorRole === "owner" && h === "owner"))) {
      for (const op of OPS) {
        it(`${actorRole} ${op}s a ${holderRole} user's key`, async () => {
          const actor = actorOf(actorRole);
          const holder = holderOf(actorRole, holderRole);
          const name = `table ${actorRole} ${op} ${holderRole}`;
          const target = await key(holder, name);
          const secret = secrets.get(name)!;
          // Enabling needs a disabled key: one its holder disabled.
          if (op === "enable") await setOwnApiKeyStatus(holder, target.id, "disabled");
          const before = await snapshot();
          if (op === "delete") {
            await deleteApiKeyAsAdmin(actor, target.id);
            total--;
            expect(await keyRow(target.id)).toBeUndefined();
          } else {
            await setApiKeyStatusAsAdmin(actor, target.id, op === "disable" ? "disabled" : "active");
            expect(await keyRow(target.id)).toMatchObject(
              op === "disable"
                ? { status: "disabled", disabledByAdmin: true, disabledBy: actor.userId }
                : { status: "active", disabledByAdmin: false, disabledBy: null },
            );
          }
          await expectOnlyChanged(before, { api_keys: [target.id] });
          const audit = await auditSince(before);
          expect(audit).toHaveLength(1);
          expect(audit[0]).toMatchObject({
            action: op === "disable" ? "api_key.disabled" : op === "enable" ? "api_key.enabled" : "api_key.deleted",
            actorUserId: actor.userId,
            targetType: "api_key",
            targetId: target.id,
            targetLabel: name,
          });
          expect(audit[0]!.metadata).toEqual({ by_admin: true, key_owner: holder.email });
          expect(await authenticateApiKey(secret, null)).toEqual(
            op === "enable" ? expect.objectContaining({ user: expect.objectContaining({ id: holder.userId }) }) : null,
          );
        });
      }
    }
  }
});

// SPEC §10: "A key disabled by someone other than its holder can only be enabled again by an Owner
// or Admin who is not its holder (the Owner may always)."
describe("the admin lock", () => {
  let admin2: Actor;
  beforeAll(async () => {
    admin2 = await makeUser("admin", { name: "Ada Second", email: "ada@example.test" });
  });

  async function statusOf(id: string) {
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, id));
    return { status: row!.status, disabledByAdmin: row!.disabledByAdmin };
  }

  it("an Admin cannot enable their own key the Owner disabled (profile or Access Manager); another Admin and the Owner can", async () => {
    const target = await key(admin, "admin lock: admin's key");
    await setApiKeyStatusAsAdmin(owner, target.id, "disabled");
    const before = await snapshot();

    const locked = { code: "forbidden", message: KEY_LOCKED_MESSAGE };
    await expect(setOwnApiKeyStatus(admin, target.id, "active")).rejects.toMatchObject(locked);
    await expect(setApiKeyStatusAsAdmin(admin, target.id, "active")).rejects.toMatchObject(locked);
    // Disabling it again themselves does not lift the Owner's lock either.
    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    await expect(setApiKeyStatusAsAdmin(admin, target.id, "active")).rejects.toMatchObject(locked);
    expect(await statusOf(target.id)).toEqual({ status: "disabled", disabledByAdmin: true });
    await expectUnchanged(before);
    expect(await authenticateApiKey(secrets.get("admin lock: admin's key")!, null)).toBeNull();

    const unlock = await snapshot();
    await setApiKeyStatusAsAdmin(admin2, target.id, "active");
    expect(await statusOf(target.id)).toEqual({ status: "active", disabledByAdmin: false });
    await expectOnlyChanged(unlock, { api_keys: [target.id] });
    expect(await auditSince(unlock)).toMatchObject([{ action: "api_key.enabled", actorUserId: admin2.userId, targetId: target.id }]);

    await setApiKeyStatusAsAdmin(owner, target.id, "disabled");
    await setApiKeyStatusAsAdmin(owner, target.id, "active");
    expect(await statusOf(target.id)).toEqual({ status: "active", disabledByAdmin: false });
  });

  it("an Admin disabling and enabling their own key from the Access Manager is audited as what it did", async () => {
    const target = await key(admin, "own key via the Access Manager");
    const before = await snapshot();
    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    // Their own choice: no admin lock, so they may enable it again.
    expect(await statusOf(target.id)).toEqual({ status: "disabled", disabledByAdmin: false });
    await setApiKeyStatusAsAdmin(admin, target.id, "active");
    expect(await statusOf(target.id)).toEqual({ status: "active", disabledByAdmin: false });
    await expectOnlyChanged(before, { api_keys: [target.id] });
    expect(await auditSince(before)).toMatchObject([
      { action: "api_key.disabled", actorUserId: admin.userId, targetId: target.id },
      { action: "api_key.enabled", actorUserId: admin.userId, targetId: target.id },
    ]);
  });

  it("the Owner may always: an Admin disables the Owner's key, the Owner enables it (profile or Access Manager)", async () => {
    const target = await key(owner, "admin lock: owner's key");
    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    expect(await statusOf(target.id)).toEqual({ status: "disabled", disabledByAdmin: true });
    await expect(setOwnApiKeyStatus(owner, target.id, "active")).resolves.toMatchObject({ status: "active" });

    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    await setApiKeyStatusAsAdmin(owner, target.id, "active");
    expect(await statusOf(target.id)).toEqual({ status: "active", disabledByAdmin: false });
  });

  it("a key its holder disabled, the holder enables again (profile or Access Manager)", async () => {
    const target = await key(admin, "admin lock: self-disabled");
    await setOwnApiKeyStatus(admin, target.id, "disabled");
    await expect(setOwnApiKeyStatus(admin, target.id, "active")).resolves.toMatchObject({ status: "active" });

    // Disabled by its holder from the Access Manager: still the holder's own decision.
    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    expect(await statusOf(target.id)).toEqual({ status: "disabled", disabledByAdmin: false });
    await expect(setOwnApiKeyStatus(admin, target.id, "active")).resolves.toMatchObject({ status: "active" });
    await setApiKeyStatusAsAdmin(admin, target.id, "disabled");
    await setApiKeyStatusAsAdmin(admin, target.id, "active");
    expect(await statusOf(target.id)).toEqual({ status: "active", disabledByAdmin: false });

    const staffKey = await key(staff, "admin lock: staff self-disabled");
    await setOwnApiKeyStatus(staff, staffKey.id, "disabled");
    await expect(setOwnApiKeyStatus(staff, staffKey.id, "active")).resolves.toMatchObject({ status: "active" });
  });
});
