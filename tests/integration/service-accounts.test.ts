/**
 * Service accounts (SPEC §12) on a real database: who may add one and with which role, that it
 * never signs in, its role rules, keys an admin makes for it (policy-checked like a person's own,
 * audited with the admin as actor), and the API's `user.type`. Every refusal changes nothing.
 */
import { eq } from "drizzle-orm";
// First: the API's schemas extend zod (.openapi) before any other module builds one.
import { createApiApp } from "@/server/api/app";
import { whoamiResponse } from "@/server/api/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { apiKeys, users, type Role } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { hashPassword } from "@/lib/auth/password";
import { createApiKeyForServiceAccount } from "@/lib/keys/admin";
import { authenticateApiKey } from "@/lib/keys/service";
import { keyCache } from "@/lib/runtime";
import { changeRole, removeUser, transferOwnership } from "@/lib/users/roles";
import { createServiceAccount, listServiceAccounts, serviceAccountEmail } from "@/lib/users/service-accounts";
import { listUsers, verifyCredentials } from "@/lib/users/service";
import { createApiKeySchema } from "@/lib/validation/keys";
import { createServiceAccountSchema, removeUserSchema } from "@/lib/validation/users";
import { changeRoleSchema } from "@/lib/validation/admin";
import { updateKeyPolicy } from "@/lib/settings/service";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, makeUser, snapshot, userRow } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let owner: Actor;
let admin: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off");
  owner = await makeUser("owner", { name: "Olive Owner" });
  admin = await makeUser("admin", { name: "Adam Admin" });
});
afterAll(() => teardown());

let n = 0;
const unique = (base: string) => `${base} ${++n}`;

const ROLES: Role[] = ["owner", "admin", "staff", "read_only", "lite"];
const MANAGERS = new Set<Role>(["owner", "admin"]);

async function actorFor(role: Role): Promise<Actor> {
  if (role === "owner") return owner;
  if (role === "admin") return admin;
  return makeUser(role);
}

describe("Add service account", () => {
  it.each(ROLES)("as %s: only Owners and Admins may add one; a refusal changes nothing", async (role) => {
    const actor = await actorFor(role);
    const input = createServiceAccountSchema.parse({ name: unique("Billing sync"), role: "staff" });
    const before = await snapshot();
    if (!MANAGERS.has(role)) {
      await expect(createServiceAccount(actor, input)).rejects.toMatchObject({ code: "forbidden" });
      await expectUnchanged(before);
      return;
    }
    const account = await createServiceAccount(actor, input);
    expect(account).toMatchObject({ name: input.name, role: "staff" });
    await expectOnlyChanged(before, { users: [account.id] });
    const row = await userRow(account.id);
    expect(row).toMatchObject({ kind: "service_account", email: serviceAccountEmail(account.id), role: "staff" });
    // An address no person can have (.invalid never delivers), and a hash of nothing anyone knows.
    expect(row!.email).toMatch(/^service-account\+[0-9a-f-]{36}@latchkey\.invalid$/);
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await auditSince(before)).toMatchObject([
      {
        action: "user.service_account_created",
        actorUserId: actor.userId,
        targetType: "user",
        targetId: account.id,
        targetLabel: input.name,
        metadata: { role: "staff" },
      },
    ]);
  });

  it("refuses an API key actor (Users are managed in the browser), changing nothing", async () => {
    const viaKey: Actor = { ...admin, apiKey: { id: crypto.randomUUID(), name: "ci", accessLevel: "read_write" } };
    const before = await snapshot();
    const input = createServiceAccountSchema.parse({ name: "Through the API", role: "read_only" });
    await expect(createServiceAccount(viaKey, input)).rejects.toMatchObject({ code: "forbidden" });
    await expectUnchanged(before);
  });

  it("offers only Staff or Read-only, and needs a visible name", () => {
    for (const role of ["owner", "admin", "lite", "", "root"]) {
      const parsed = createServiceAccountSchema.safeParse({ name: "Deployer", role });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toBe("Choose a role: Staff or Read-only.");
    }
    expect(createServiceAccountSchema.safeParse({ name: "  ", role: "staff" }).success).toBe(false);
    expect(createServiceAccountSchema.safeParse({ name: "a\u202eb", role: "staff" }).success).toBe(false);
    expect(createServiceAccountSchema.parse({ name: "  Deployer ", role: "read_only" })).toEqual({ name: "Deployer", role: "read_only" });
  });

  it("is listed with its kind on the Users page and in the Access Manager's choice of holders", async () => {
    const account = await createServiceAccount(admin, { name: unique("Listed"), role: "read_only" });
    const listed = (await listUsers(admin)).find((u) => u.id === account.id);
    expect(listed).toMatchObject({ kind: "service_account", name: account.name, role: "read_only", keyCount: 0 });
    expect((await listUsers(admin)).find((u) => u.id === admin.userId)?.kind).toBe("person");
    const holders = await listServiceAccounts(admin);
    expect(holders.map((h) => h.id)).toContain(account.id);
    expect(holders.map((h) => h.id)).not.toContain(admin.userId);
    await expect(listServiceAccounts(await makeUser("staff"))).rejects.toMatchObject({ code: "forbidden" });
  });
});

describe("sign-in", () => {
  it("is refused for a service account whatever the password, even one that would match its hash", async () => {
    const account = await createServiceAccount(admin, { name: unique("No sign-in"), role: "staff" });
    // Give it a hash of a known password: the kind alone must keep it out.
    await db()
      .update(users)
      .set({ passwordHash: await hashPassword("known password") })
      .where(eq(users.id, account.id));
    const email = serviceAccountEmail(account.id);
    const before = await snapshot();
    expect(await verifyCredentials({ email, password: "known password" }, "198.51.100.7")).toBeNull();
    await expectOnlyChanged(before, {});
    expect(await auditSince(before)).toMatchObject([{ action: "auth.sign_in_failed", targetId: account.id, targetLabel: email }]);
  });
});

describe("role and ownership", () => {
  it("changes only between Staff and Read-only; any other role is refused and changes nothing", async () => {
    const account = await createServiceAccount(admin, { name: unique("Role rules"), role: "staff" });
    for (const role of ["admin", "lite", "owner"] as const) {
      const before = await snapshot();
      await expect(changeRole(owner, changeRoleSchema.parse({ userId: account.id, role }))).rejects.toMatchObject({ code: "forbidden" });
      await expectUnchanged(before);
    }
    const result = await changeRole(admin, changeRoleSchema.parse({ userId: account.id, role: "read_only" }));
    expect(result.user.role).toBe("read_only");
  });

  it("never receives ownership", async () => {
    const account = await createServiceAccount(owner, { name: unique("Not an owner"), role: "staff" });
    const before = await snapshot();
    await expect(transferOwnership(owner, account.id)).rejects.toMatchObject({ code: "invalid" });
    await expectUnchanged(before);
  });
});

describe("Add API Key for a service account", () => {
  it.each(ROLES)("as %s: only Owners and Admins; the key is the account's, audited with the admin as actor", async (role) => {
    const account = await createServiceAccount(admin, { name: unique("Deployer"), role: "staff" });
    const actor = await actorFor(role);
    const input = createApiKeySchema.parse({ name: "deploys", access_level: "read_write" });
    const before = await snapshot();
    if (!MANAGERS.has(role)) {
      await expect(createApiKeyForServiceAccount(actor, account.id, input)).rejects.toMatchObject({ code: "forbidden" });
      await expectUnchanged(before);
      return;
    }
    const { key, secret, account: holder } = await createApiKeyForServiceAccount(actor, account.id, input);
    expect(holder).toEqual({ id: account.id, name: account.name });
    await expectOnlyChanged(before, { api_keys: [key.id] });
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(row).toMatchObject({ userId: account.id, name: "deploys", accessLevel: "read_write" });
    expect(await auditSince(before)).toMatchObject([
      {
        action: "api_key.created",
        actorUserId: actor.userId,
        targetId: key.id,
        metadata: { by_admin: true, key_owner: account.name, service_account_id: account.id, access_level: "read_write" },
      },
    ]);
    const found = await authenticateApiKey(secret, null);
    expect(found?.user).toMatchObject({ id: account.id, kind: "service_account" });
  });

  it("refuses what the account's role or the policy does not allow, a duplicate name, and a person as holder", async () => {
    const readOnly = await createServiceAccount(admin, { name: unique("Reader"), role: "read_only" });
    const person = await makeUser("staff");
    await createApiKeyForServiceAccount(admin, readOnly.id, createApiKeySchema.parse({ name: "taken" }));
    // Thunks, so each attempt starts (and is awaited) in turn.
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        "level",
        () => createApiKeyForServiceAccount(admin, readOnly.id, createApiKeySchema.parse({ name: "rw", access_level: "read_write" })),
        "forbidden",
      ],
      ["duplicate", () => createApiKeyForServiceAccount(admin, readOnly.id, createApiKeySchema.parse({ name: "TAKEN" })), "conflict"],
      ["person", () => createApiKeyForServiceAccount(admin, person.userId, createApiKeySchema.parse({ name: "p" })), "not_found"],
      ["malformed id", () => createApiKeyForServiceAccount(admin, "not-a-uuid", createApiKeySchema.parse({ name: "m" })), "not_found"],
      ["unknown id", () => createApiKeyForServiceAccount(admin, crypto.randomUUID(), createApiKeySchema.parse({ name: "u" })), "not_found"],
    ];
    for (const [what, attempt, code] of cases) {
      const before = await snapshot();
      await expect(attempt(), what).rejects.toMatchObject({ code });
      await expectUnchanged(before);
    }

    // The organisation's maximum lifetime applies as to anyone's key.
    await updateKeyPolicy(owner, { max_key_lifetime_days: 30, disable_unused_after_days: null });
    try {
      const before = await snapshot();
      const tooLate = new Date(Date.now() + 90 * 86_400_000);
      await expect(
        createApiKeyForServiceAccount(admin, readOnly.id, createApiKeySchema.parse({ name: "long", expires_at: tooLate.toISOString() })),
      ).rejects.toMatchObject({ code: "invalid", field: "expires_at" });
      await expectUnchanged(before);
      const { key } = await createApiKeyForServiceAccount(admin, readOnly.id, createApiKeySchema.parse({ name: "defaulted" }));
      expect(key.expiresAt).not.toBeNull();
    } finally {
      await updateKeyPolicy(owner, { max_key_lifetime_days: null, disable_unused_after_days: null });
    }
  });
});

describe("API", () => {
  it("whoami's user.type says service_account (with no email) for its key and person for a person's", async () => {
    const app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
    const account = await createServiceAccount(admin, { name: unique("Whoami"), role: "staff" });
    const { secret } = await createApiKeyForServiceAccount(admin, account.id, createApiKeySchema.parse({ name: "whoami" }));
    const whoami = async (key: string) => {
      const response = await app.request("http://latchkey.test/api/v1/whoami", {
        headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}`, "x-latchkey-client-ip": "192.0.2.1" },
      });
      expect(response.status).toBe(200);
      return whoamiResponse.parse(await response.json());
    };
    // Its stored address is an internal placeholder: the API says it has none.
    expect((await whoami(secret)).user).toEqual({ email: null, name: account.name, role: "staff", type: "service_account" });

    const { createApiKey } = await import("@/lib/keys/service");
    const mine = await createApiKey(admin, { name: unique("admin's"), access_level: "read_only" });
    expect((await whoami(mine.secret)).user).toMatchObject({ email: admin.email, role: "admin", type: "person" });
  });
});

describe("Remove a person, moving keys to a service account", () => {
  /** A Staff person with a Read & Write and a Read-only key, signed in by their keys' secrets. */
  async function personWithKeys() {
    const { createApiKey } = await import("@/lib/keys/service");
    const person = await makeUser("staff");
    const rw = await createApiKey(person, { name: unique("deploy"), access_level: "read_write", description: "CI" });
    const ro = await createApiKey(person, { name: unique("report"), access_level: "read_only" });
    return { person, rw, ro };
  }

  it("moves the chosen key under a new secret (the old one refused at once), deletes the rest, audited per key", async () => {
    const account = await createServiceAccount(admin, { name: unique("Deploy bot"), role: "staff" });
    const { person, rw, ro } = await personWithKeys();
    expect(await authenticateApiKey(rw.secret, null)).not.toBeNull(); // cached now, where a cache runs
    const before = await snapshot();
    const input = removeUserSchema.parse({ userId: person.userId, moves: [{ keyId: rw.key.id, accountId: account.id }] });
    const result = await removeUser(admin, input.userId, input.moves);
    expect(result.deletedKeys).toEqual([ro.key.name]);
    expect(result.movedKeys).toMatchObject([{ id: rw.key.id, name: rw.key.name, accountId: account.id, accountName: account.name }]);
    const newSecret = result.movedKeys[0]!.secret;
    expect(newSecret).not.toBe(rw.secret);

    // The person's copy stops at once; the new secret works, as the service account's.
    expect(await authenticateApiKey(rw.secret, null)).toBeNull();
    expect(await authenticateApiKey(ro.secret, null)).toBeNull();
    expect(await authenticateApiKey(newSecret, null)).toMatchObject({ user: { id: account.id, kind: "service_account" } });
    // Name, level, expiry, description and status kept.
    const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, rw.key.id));
    expect(row).toMatchObject({
      userId: account.id,
      name: rw.key.name,
      accessLevel: "read_write",
      description: "CI",
      status: "active",
      expiresAt: rw.key.expiresAt,
      previousDigest: null,
    });
    expect(await userRow(person.userId)).toBeUndefined();

    const audit = await auditSince(before);
    expect(audit.map((a) => [a.action, a.targetId])).toEqual([
      ["api_key.moved", rw.key.id],
      ["api_key.deleted", ro.key.id],
      ["user.removed", person.userId],
    ]);
    expect(audit[0]).toMatchObject({
      actorUserId: admin.userId,
      metadata: { reason: "user_removed", from: person.email, to: account.name, service_account_id: account.id },
    });
    expect(audit[2]!.metadata).toMatchObject({ deleted_keys: [ro.key.name], moved_keys: [{ name: rw.key.name, to: account.name }] });
  });

  it("refuses, changing nothing: Read & Write to a Read-only account, a name it has, a person, someone else's key", async () => {
    const reader = await createServiceAccount(admin, { name: unique("Reader bot"), role: "read_only" });
    const staffBot = await createServiceAccount(admin, { name: unique("Staff bot"), role: "staff" });
    const { person, rw, ro } = await personWithKeys();
    await createApiKeyForServiceAccount(admin, staffBot.id, createApiKeySchema.parse({ name: ro.key.name.toUpperCase() }));
    const stranger = await personWithKeys();
    const cases: [string, { keyId: string; accountId: string }[], string][] = [
      ["level", [{ keyId: rw.key.id, accountId: reader.id }], "forbidden"],
      ["name", [{ keyId: ro.key.id, accountId: staffBot.id }], "conflict"],
      ["person", [{ keyId: ro.key.id, accountId: stranger.person.userId }], "not_found"],
      ["themselves", [{ keyId: ro.key.id, accountId: person.userId }], "not_found"],
      ["unknown account", [{ keyId: ro.key.id, accountId: crypto.randomUUID() }], "not_found"],
      ["someone else's key", [{ keyId: stranger.rw.key.id, accountId: staffBot.id }], "conflict"],
      [
        "twice",
        [
          { keyId: ro.key.id, accountId: reader.id },
          { keyId: ro.key.id, accountId: staffBot.id },
        ],
        "conflict",
      ],
    ];
    for (const [what, moves, code] of cases) {
      const before = await snapshot();
      await expect(removeUser(admin, person.userId, moves), what).rejects.toMatchObject({ code });
      await expectUnchanged(before);
    }
    expect(await authenticateApiKey(rw.secret, null)).not.toBeNull();
    // A Read-only key may go to a Read-only account.
    const result = await removeUser(admin, person.userId, [{ keyId: ro.key.id, accountId: reader.id }]);
    expect(result.movedKeys.map((k) => k.accountName)).toEqual([reader.name]);
  });

  it.each(ROLES)("as %s: only Owners and Admins remove and move; a refusal changes nothing", async (role) => {
    const actor = await actorFor(role);
    const account = await createServiceAccount(admin, { name: unique("Bot"), role: "staff" });
    const { person, rw } = await personWithKeys();
    const before = await snapshot();
    const attempt = removeUser(actor, person.userId, [{ keyId: rw.key.id, accountId: account.id }]);
    if (!MANAGERS.has(role)) {
      await expect(attempt).rejects.toMatchObject({ code: "forbidden" });
      await expectUnchanged(before);
      return;
    }
    expect((await attempt).movedKeys).toHaveLength(1);
  });

  it("the move's schema takes ids only, and no moves means every key is deleted", async () => {
    const malformed = { userId: crypto.randomUUID(), moves: [{ keyId: "x", accountId: crypto.randomUUID() }] };
    expect(removeUserSchema.safeParse(malformed).success).toBe(false);
    expect(removeUserSchema.parse({ userId: admin.userId }).moves).toEqual([]);
  });
});

describe("Confirm it's you", () => {
  it("adding a service account, a key for one, and moving keys on removal need a recent sign-in; refused, nothing changes", async () => {
    const stale: Actor = { ...admin, confirmedAt: new Date(Date.now() - 16 * 60_000) };
    const account = await createServiceAccount(admin, { name: unique("Confirmed bot"), role: "staff" });
    const { createApiKey } = await import("@/lib/keys/service");
    const person = await makeUser("staff");
    const { key } = await createApiKey(person, { name: unique("to move"), access_level: "read_only" });
    const attempts: [string, () => Promise<unknown>][] = [
      ["add service account", () => createServiceAccount(stale, { name: unique("Stale bot"), role: "staff" })],
      ["add key", () => createApiKeyForServiceAccount(stale, account.id, createApiKeySchema.parse({ name: unique("stale") }))],
      ["remove and move", () => removeUser(stale, person.userId, [{ keyId: key.id, accountId: account.id }])],
    ];
    for (const [what, attempt] of attempts) {
      const before = await snapshot();
      await expect(attempt(), what).rejects.toMatchObject({ code: "confirmation_required" });
      await expectUnchanged(before);
    }
  });
});
