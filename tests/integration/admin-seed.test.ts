import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connection, db } from "@/lib/runtime";
import { seed, DEMO_USERS } from "@/lib/seed";
import { apiKeys, users } from "@/db/schema";
import { verifyCredentials } from "@/lib/users/service";
import { createKeyring } from "@/lib/config/keyring";
import { openSecret } from "@/lib/keys/crypto";
import { isWellFormedApiKey } from "@/lib/keys/format";
import { authenticateApiKey } from "@/lib/keys/service";
import { setupTestDatabase, TEST_SECRET } from "../helpers/db";
import { expectUnchanged, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

describe("scripts/seed.ts", () => {
  it("creates demo users of every role with keys that work, and a bulk organisation that follows the role rules", async () => {
    const report = await seed(connection().sql, createKeyring(TEST_SECRET), { keys: 500, password: "demo password 1" });
    expect(report.accounts.map((a) => a.role)).toEqual(["owner", "admin", "staff", "read_only", "lite"]);
    expect(report.accounts.every((a) => a.created)).toBe(true);
    expect(report.bulk).toEqual({ users: 5, keys: 500 });

    const demoKeys = DEMO_USERS.reduce((sum, u) => sum + u.keys.length, 0);
    const [{ n }] = (await db().execute<{ n: number }>(sql`select count(*)::int as n from api_keys`)) as unknown as [{ n: number }];
    expect(n).toBe(500 + demoKeys);

    // The demo password signs in.
    expect(await verifyCredentials({ email: DEMO_USERS[2]!.email, password: "demo password 1" }, null)).toMatchObject({
      user: { role: "staff" },
    });

    // Every stored key opens with the server secret, has the key format, and authenticates.
    const sample = await db()
      .select()
      .from(apiKeys)
      .orderBy(sql`random()`)
      .limit(20);
    for (const row of sample) {
      const secret = openSecret(
        { ciphertext: row.secretCiphertext, nonce: row.secretNonce, version: row.keyVersion },
        row.id,
        createKeyring(TEST_SECRET),
      );
      expect(isWellFormedApiKey(secret)).toBe(true);
      expect(secret.startsWith(row.prefix) && secret.endsWith(row.last4)).toBe(true);
      const auth = await authenticateApiKey(secret, null);
      expect(auth?.key.id ?? null).toBe(row.status === "active" ? row.id : null);
    }

    // Role rules: Read-only users hold only Read-only keys, Lite users none.
    const wrong = await db().execute<{ n: number }>(sql`
      select count(*)::int as n from api_keys k join users u on u.id = k.user_id
      where u.role = 'lite' or (u.role = 'read_only' and k.access_level = 'read_write')`);
    expect((wrong as unknown as [{ n: number }])[0].n).toBe(0);
    expect(await db().select().from(users).where(eq(users.role, "owner"))).toHaveLength(1);
  });

  it("runs again without duplicating the demo users, and keeps the existing Owner", async () => {
    const before = await snapshot();
    const report = await seed(connection().sql, createKeyring(TEST_SECRET), { keys: 0, password: "another password" });
    expect(report.accounts.every((a) => !a.created)).toBe(true);
    // Not a row touched: the users (passwords included), their keys and sessions, and no audit row.
    await expectUnchanged(before);
    expect(await verifyCredentials({ email: DEMO_USERS[0]!.email, password: "demo password 1" }, null)).not.toBeNull();
  });
});
