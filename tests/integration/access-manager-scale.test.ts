import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connection, db } from "@/lib/runtime";
import type { Actor } from "@/lib/auth/actor";
import { createKeyring } from "@/lib/config/keyring";
import {
  countAllKeys,
  deleteApiKeyAsAdmin,
  deleteApiKeysAsAdmin,
  listApiKeysForAdmin,
  listApiKeysForAdminByCursor,
  SEARCH_COUNT_LIMIT,
} from "@/lib/keys/admin";
import { createApiKey } from "@/lib/keys/service";
import { insertKeys, type KeySpec } from "@/lib/seed";
import { removeUser } from "@/lib/users/roles";
import { createServiceAccount } from "@/lib/users/service-accounts";
import { KEY_SORTS, parseAccessManagerQuery } from "@/lib/validation/admin";
import { escapeLike } from "@/db/sql";
import { setupTestDatabase, TEST_SECRET } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

/**
 * The Access Manager at scale (SPEC §14): the exact key counter kept by triggers (migration 0007),
 * searches that find their users first, and search totals counted up to a limit.
 */

let teardown: () => Promise<void>;
let owner: Actor;
const ring = createKeyring(TEST_SECRET);

beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner", { name: "Olive Owner", email: "olive@example.test" });
});
afterAll(() => teardown());

async function countedKeys(): Promise<number> {
  const rows = await db().execute<{ n: number }>(sql`select count(*)::int as n from api_keys`);
  return rows[0]!.n;
}

async function counterRows(): Promise<number> {
  const rows = await db().execute<{ n: number }>(sql`select count(*)::int as n from api_key_count`);
  return rows[0]!.n;
}

/** The counter agrees with count(*), and the unfiltered Access Manager shows it. */
async function expectCounterRight(): Promise<number> {
  const n = await countedKeys();
  expect(await countAllKeys()).toBe(n);
  const page = await listApiKeysForAdmin(owner, parseAccessManagerQuery({}));
  expect(page).toMatchObject({ total: n, totalExact: true });
  return n;
}

const specs = (userId: string, names: string[]): KeySpec[] => names.map((name) => ({ userId, name, accessLevel: "read_only" }));

describe("the key counter (api_key_count, kept by triggers)", () => {
  it("counts keys created one at a time and in bulk, and keys deleted one at a time, in bulk and by statement", async () => {
    expect(await expectCounterRight()).toBe(0);
    const staff = await makeUser("staff");
    const one = await createApiKey(staff, { name: "first", access_level: "read_only" });
    expect(await expectCounterRight()).toBe(1);
    // One statement inserting many rows (the seed's batches).
    await insertKeys(
      connection().sql,
      ring,
      specs(
        staff.userId,
        Array.from({ length: 40 }, (_, i) => `bulk-${i}`),
      ),
    );
    expect(await expectCounterRight()).toBe(41);
    await deleteApiKeyAsAdmin(owner, one.key.id);
    expect(await expectCounterRight()).toBe(40);
    const some = await db().execute<{ id: string }>(sql`select id from api_keys where name like 'bulk-1%' order by id`);
    await deleteApiKeysAsAdmin(owner, { ids: some.map((r) => r.id) });
    expect(await expectCounterRight()).toBe(40 - some.length);
    await db().execute(sql`delete from api_keys where name like 'bulk-2%'`);
    // A statement that inserts or deletes nothing adds no row.
    const rows = await counterRows();
    await db().execute(sql`delete from api_keys where name = 'no such key'`);
    await db().execute(sql`
      insert into api_keys (user_id, name, access_level, secret_ciphertext, secret_nonce, key_version, digest, prefix, last4)
      select user_id, name, access_level, secret_ciphertext, secret_nonce, key_version, digest, prefix, last4 from api_keys where false`);
    expect(await counterRows()).toBe(rows);
    await expectCounterRight();
  });

  it("counts the keys that go with a removed user (FK cascade and removeUser), and not the ones moved to a service account", async () => {
    const before = await countedKeys();
    const gone = await makeUser("staff");
    await insertKeys(connection().sql, ring, specs(gone.userId, ["a", "b", "c"]));
    // Deleting the user row directly: ON DELETE CASCADE deletes the keys, and the trigger sees it.
    await db().execute(sql`delete from users where id = ${gone.userId}`);
    expect(await expectCounterRight()).toBe(before);

    const leaving = await makeUser("staff");
    await insertKeys(connection().sql, ring, specs(leaving.userId, ["keep", "drop-1", "drop-2"]));
    const account = await createServiceAccount(owner, { name: "Robot", role: "staff" });
    const [keep] = await db().execute<{ id: string }>(sql`select id from api_keys where user_id = ${leaving.userId} and name = 'keep'`);
    const removed = await removeUser(owner, leaving.userId, [{ keyId: keep!.id, accountId: account.id }]);
    expect(removed.movedKeys).toHaveLength(1);
    expect(removed.deletedKeys).toHaveLength(2);
    expect(await expectCounterRight()).toBe(before + 1);
  });

  it("stays exact with concurrent writers (no statement waits on another's counter row)", async () => {
    const before = await countedKeys();
    const people = await Promise.all([makeUser("staff"), makeUser("staff"), makeUser("admin")]);
    await Promise.all(
      people.flatMap((p, i) =>
        Array.from({ length: 5 }, (_, j) => createApiKey(p, { name: `concurrent ${i}-${j}`, access_level: "read_only" })),
      ),
    );
    expect(await expectCounterRight()).toBe(before + 15);
  });

  it("folds its rows into one once there are many, keeping the sum", async () => {
    const staff = await makeUser("staff");
    for (let i = 0; i < 110; i++) await insertKeys(connection().sql, ring, specs(staff.userId, [`one by one ${i}`]));
    expect(await counterRows()).toBeGreaterThan(100);
    const n = await countedKeys();
    expect(await countAllKeys()).toBe(n); // sees the rows, then folds them
    expect(await counterRows()).toBe(1);
    expect(await countAllKeys()).toBe(n);
    await expectCounterRight();

    // Several folds at once (on PostgreSQL, on separate connections) take each row once.
    for (let i = 0; i < 110; i++) await insertKeys(connection().sql, ring, specs(staff.userId, [`again ${i}`]));
    const [a, b, c] = await Promise.all([countAllKeys(), countAllKeys(), countAllKeys()]);
    expect([a, b, c]).toEqual([n + 110, n + 110, n + 110]);
    expect(await counterRows()).toBe(1);
    await expectCounterRight();
  });

  it("is what the unfiltered Access Manager shows, without counting the keys", async () => {
    const n = await countedKeys();
    // A row no trigger wrote: the page's total moves with it, so the page reads the counter.
    await db().execute(sql`insert into api_key_count (delta) values (1000000)`);
    try {
      expect(await listApiKeysForAdmin(owner, parseAccessManagerQuery({}))).toMatchObject({
        total: n + 1000000,
        pageCount: Math.ceil((n + 1000000) / 25),
      });
      // A filter counts its keys.
      expect((await listApiKeysForAdmin(owner, parseAccessManagerQuery({ level: "read_only" }))).total).toBeLessThanOrEqual(n);
    } finally {
      await db().execute(sql`insert into api_key_count (delta) values (-1000000)`); // even if a fold took the row in
    }
    await expectCounterRight();
  });
});

/** The search as it was: a semi-join in the OR and an exact count (the parity reference). */
async function referenceSearch(term: string): Promise<{ ids: Set<string>; total: number }> {
  const pattern = `%${escapeLike(term.toLowerCase())}%`;
  const rows = await db().execute<{ id: string }>(sql`
    select id from api_keys
    where name_lower like ${pattern}
       or user_id in (select id from users where lower(name) like ${pattern} or lower(email) like ${pattern})`);
  return { ids: new Set(rows.map((r) => r.id)), total: rows.length };
}

describe("search", () => {
  let grace: Actor;
  beforeAll(async () => {
    grace = await makeUser("staff", { name: "Grace Hopper", email: "grace@navy.example" });
    const other = await makeUser("staff", { name: "Alan Turing", email: "alan@bletchley.example" });
    await insertKeys(connection().sql, ring, specs(grace.userId, ["cobol compiler", "Billing-PROD", "100%_off"]));
    await insertKeys(connection().sql, ring, specs(other.userId, ["enigma", "billing-prod eu", "hopper-mirror", "grace period job"]));
  });

  it.each([
    ["hopper", 4], // Grace's three keys by her name, and one key by its own name
    ["navy.example", 3], // by email only
    ["billing-prod", 2], // by key name, any case
    ["GRACE", 4], // Grace's keys and "grace period job"
    ["100%_", 1], // LIKE's wildcards are literal
    ["%", 1],
    ["_", 1],
    ["no such thing", 0],
  ])("%j finds the keys of matching users and keys with matching names, as the old query did (%i)", async (term, expected) => {
    const reference = await referenceSearch(term);
    expect(reference.total).toBe(expected);
    for (const sort of KEY_SORTS) {
      for (const dir of ["asc", "desc"] as const) {
        const page = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: term, sort, dir, size: "100" }));
        expect(page).toMatchObject({ total: expected, totalExact: true, pageCount: 1 });
        expect(new Set(page.rows.map((r) => r.id))).toEqual(reference.ids);
      }
    }
    // The admin API's pages (by cursor) find the same keys.
    const byCursor = await listApiKeysForAdminByCursor(owner, parseAccessManagerQuery({ q: term }), { limit: 100 });
    expect(new Set(byCursor.rows.map((r) => r.id))).toEqual(reference.ids);
  });

  it("finds the keys of more users than it lists (a subquery past SEARCH_USER_LIST_MAX), as the old query did", async () => {
    // 1,001 users named "Mxyzptlk n", every hundredth holding a key, and a key named after them.
    await db().execute(sql`
      insert into users (email, name, role, password_hash)
      select 'many' || g || '@example.test', 'Mxyzptlk ' || g, 'staff', 'x' from generate_series(1, 1001) g`);
    const holders = await db().execute<{ id: string }>(sql`select id from users where name like 'Mxyzptlk %' and right(name, 2) = '00'`);
    await insertKeys(
      connection().sql,
      ring,
      holders.map((h, i) => ({ userId: h.id, name: `held ${i}`, accessLevel: "read_only" as const })),
    );
    await insertKeys(connection().sql, ring, specs(owner.userId, ["mxyzptlk's own key"]));
    const reference = await referenceSearch("MXYZPTLK");
    expect(reference.total).toBe(holders.length + 1);
    for (const sort of ["createdAt", "user", "name"] as const) {
      const page = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "MXYZPTLK", sort, size: "100" }));
      expect(page).toMatchObject({ total: reference.total, totalExact: true });
      expect(new Set(page.rows.map((r) => r.id))).toEqual(reference.ids);
    }
  });

  it("combines with filters", async () => {
    const page = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "hopper", role: "staff", sort: "name", dir: "asc" }));
    expect(page.rows.map((r) => r.name)).toEqual(["100%_off", "Billing-PROD", "cobol compiler", "hopper-mirror"]);
    await db().execute(sql`update api_keys set status = 'disabled' where name = 'cobol compiler'`);
    const active = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "hopper", status: "active" }));
    expect(active.rows.map((r) => r.name).sort()).toEqual(["100%_off", "Billing-PROD", "hopper-mirror"]);
    expect(active.total).toBe(3);
  });
});

describe(`a search matching more than ${SEARCH_COUNT_LIMIT} keys`, () => {
  const MATCHING = SEARCH_COUNT_LIMIT + 100;
  beforeAll(async () => {
    const holder = await makeUser("staff", { name: "Bulk Holder", email: "bulk@example.test" });
    await insertKeys(
      connection().sql,
      ring,
      specs(
        holder.userId,
        Array.from({ length: MATCHING }, (_, i) => `capword ${String(i).padStart(5, "0")}`),
      ),
    );
  });

  it("shows how many keys there are at least, and Next leads on from every page", async () => {
    expect((await referenceSearch("capword")).total).toBe(MATCHING);
    const first = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "capword" }));
    expect(first).toMatchObject({ total: SEARCH_COUNT_LIMIT, totalExact: false, pageCount: SEARCH_COUNT_LIMIT / 25 + 1 });
    expect(first.rows).toHaveLength(25);

    // The last page counted, and the one after it: the count goes as far as the page asked for.
    const p41 = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "capword", page: "41", sort: "name", dir: "asc" }));
    expect(p41.query.page).toBe(41);
    expect(p41.rows.map((r) => r.name)[0]).toBe("capword 01000");
    expect(p41).toMatchObject({ total: 41 * 25, totalExact: false, pageCount: 42 });

    // Near the end the count is exact again.
    const last = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "capword", page: "44", sort: "name", dir: "asc" }));
    expect(last).toMatchObject({ total: MATCHING, totalExact: true, pageCount: 44 });
    expect(last.rows.map((r) => r.name).at(-1)).toBe(`capword ${String(MATCHING - 1).padStart(5, "0")}`);

    // Past the end: the last page.
    const past = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "capword", page: "99", sort: "name", dir: "asc" }));
    expect(past.query.page).toBe(44);
    expect(past.rows.map((r) => r.id)).toEqual(last.rows.map((r) => r.id));
  });

  it("is exact up to the limit, and the unfiltered total stays exact whatever the number", async () => {
    const hundred = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "capword 010" }));
    expect(hundred).toMatchObject({ total: 100, totalExact: true, pageCount: 4 });
    // Exactly the limit: still exact.
    const thousand = await listApiKeysForAdmin(owner, parseAccessManagerQuery({ q: "capword 00" }));
    expect(thousand).toMatchObject({ total: SEARCH_COUNT_LIMIT, totalExact: true, pageCount: SEARCH_COUNT_LIMIT / 25 });
    const all = await listApiKeysForAdmin(owner, parseAccessManagerQuery({}));
    expect(all).toMatchObject({ total: await countedKeys(), totalExact: true });
    expect(all.total).toBeGreaterThan(SEARCH_COUNT_LIMIT);
  });
});

describe("TRUNCATE", () => {
  it("starts the counter again from zero", async () => {
    await db().execute(sql`truncate api_keys cascade`);
    expect(await expectCounterRight()).toBe(0);
    await createApiKey(owner, { name: "after truncate", access_level: "read_only" });
    expect(await expectCounterRight()).toBe(1);
  });
});
