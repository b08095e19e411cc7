import { DrizzleQueryError, asc, eq, getTableColumns, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preparedRows } from "@/db/prepared";
import { apiKeys, users } from "@/db/schema";
import { createApiKey, listOwnApiKeysPage, regenerateApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

type Db = ReturnType<typeof db>;
const keyColumns = getTableColumns(apiKeys);
const userColumns = getTableColumns(users);
/** Every column of the keys and of the users tables, for one user: the same builders for both runners. */
const keysOf = (database: Db, columns: typeof keyColumns) =>
  database
    .select(columns)
    .from(apiKeys)
    .where(eq(apiKeys.userId, sql.placeholder("userId")))
    .orderBy(asc(apiKeys.createdAt));
const userOf = (database: Db, columns: typeof userColumns) =>
  database
    .select(columns)
    .from(users)
    .where(eq(users.id, sql.placeholder("userId")));

/** What kind of value each column holds, row by row: Dates stay Dates, nulls stay null. */
const kinds = (rows: Record<string, unknown>[]) =>
  rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([name, value]) => [name, value === null ? null : Object.prototype.toString.call(value)])),
  );

describe("a select run straight on the driver (preparedRows)", () => {
  it("decodes every column type of the keys and users tables as Drizzle's own execute does", async () => {
    const owner = await makeUser("admin");
    const { key } = await createApiKey(owner, { name: "parity one", access_level: "read_write" });
    // Values of every kind: timestamps set and null, a grace period, a disabled key's flags, an IP.
    await regenerateApiKey(owner, key.id, { grace_period_seconds: 3600 });
    const second = await createApiKey(owner, { name: "parity two", description: "with a description", access_level: "read_only" });
    await setOwnApiKeyStatus(owner, second.key.id, "disabled");
    await db()
      .update(apiKeys)
      .set({ lastUsedAt: new Date("2026-01-02T03:04:05.678Z"), lastUsedIp: "192.0.2.7" })
      .where(eq(apiKeys.id, key.id));

    const pairs = [
      [
        await keysOf(db(), keyColumns).prepare("parity_keys").execute({ userId: owner.userId }),
        await preparedRows(db(), "parity-keys", keyColumns, keysOf).execute({ userId: owner.userId }),
      ],
      [
        await userOf(db(), userColumns).prepare("parity_user").execute({ userId: owner.userId }),
        await preparedRows(db(), "parity-user", userColumns, userOf).execute({ userId: owner.userId }),
      ],
    ] as const;
    for (const [viaDrizzle, viaDriver] of pairs) {
      expect(viaDriver.length).toBeGreaterThan(0);
      expect(viaDriver).toEqual(viaDrizzle);
      expect(kinds(viaDriver)).toEqual(kinds(viaDrizzle));
    }
    // Every kind of value was there to decode.
    const [keys] = pairs[0];
    expect(keys.map((k) => [k.status, k.previousExpiresAt instanceof Date, k.lastUsedIp, k.description])).toEqual([
      ["active", true, "192.0.2.7", null],
      ["disabled", false, null, "with a description"],
    ]);
  });

  it("builds its statement once per database", async () => {
    let builds = 0;
    const build = (database: Db, columns: { id: typeof users.id }) => {
      builds++;
      return database
        .select(columns)
        .from(users)
        .where(eq(users.id, sql.placeholder("id")));
    };
    const owner = await makeUser("staff");
    for (let i = 0; i < 3; i++) {
      const rows = await preparedRows(db(), "built-once", { id: users.id }, build).execute({ id: owner.userId });
      expect(rows).toEqual([{ id: owner.userId }]);
    }
    expect(builds).toBe(1);
  });

  it("fails as Drizzle's execute fails: a DrizzleQueryError whose cause is the database's error", async () => {
    const rows = preparedRows(db(), "bad-uuid", { id: users.id }, (database, columns) =>
      database
        .select(columns)
        .from(users)
        .where(eq(users.id, sql.placeholder("id"))),
    );
    const error = await rows.execute({ id: "not-a-uuid" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect((error as DrizzleQueryError).cause).toMatchObject({ code: "22P02" });
    await expect(rows.execute({})).rejects.toThrow(/placeholder/i);
  });

  it("serves the key list's pages: every key once, oldest first, across pages", async () => {
    const holder = await makeUser("staff");
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await createApiKey(holder, { name: `page ${i}`, access_level: "read_only" })).key.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listOwnApiKeysPage(holder, { limit: 2, cursor });
      seen.push(...page.entries.map((entry) => entry.id));
      for (const entry of page.entries) expect(entry.createdAt).toBeInstanceOf(Date);
      cursor = page.cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(made);
  });
});
