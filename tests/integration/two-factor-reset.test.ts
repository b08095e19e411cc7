/**
 * `npm run user:reset-2fa -- <email>` (scripts/reset-two-factor.ts over lib/auth/two-factor-reset.ts):
 * the server-side way back in for an Owner who lost their phone and their recovery codes.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedDatabase } from "@/db/embedded";
import { openDatabase } from "@/db/open";
import { auditLog, recoveryCodes, sessions, users, userTwoFactor } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { totpCodeAt, totpStep } from "@/lib/auth/totp";
import { beginTwoFactorSetup, enableTwoFactor } from "@/lib/auth/two-factor";
import { resetTwoFactorByEmail } from "@/lib/auth/two-factor-reset";
import { db } from "@/lib/runtime";
import { TEST_SECRET, setupTestDatabase, testDatabaseUrl, withConnection } from "../helpers/db";
import { auditSince, expectUnchanged, makeUser, snapshot, withSession } from "../helpers/fixtures";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

const root = path.resolve(import.meta.dirname, "../..");
const SCRIPT = "scripts/reset-two-factor.ts";

/** A person with two-factor authentication on, a signed-in session and one waiting for its code. */
async function personWithTwoFactor(role: Actor["role"] = "owner"): Promise<Actor> {
  const actor = await withSession(await makeUser(role));
  const now = new Date();
  const secret = (await beginTwoFactorSetup(actor, now)).setupKey.replace(/ /g, "");
  await enableTwoFactor(actor, totpCodeAt(secret, totpStep(now)), now);
  await withSession(actor); // starts pending: the person has 2FA now
  return actor;
}

const stateOf = async (userId: string) => ({
  twoFactor: await db().select().from(userTwoFactor).where(eq(userTwoFactor.userId, userId)),
  codes: await db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
  sessions: await db().select().from(sessions).where(eq(sessions.userId, userId)),
});

function runScript(args: string[], env: Record<string, string | undefined>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LATCHKEY_SECRET: TEST_SECRET, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  const run = spawnSync(process.execPath, ["--import", "tsx", SCRIPT, ...args], { cwd: root, env: childEnv, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("resetting a person's two-factor authentication on the server", () => {
  it("deletes the secret and the recovery codes, ends every session, audited by Server command", async () => {
    const actor = await personWithTwoFactor();
    const bystander = await personWithTwoFactor("admin");
    const theirs = await stateOf(bystander.userId);
    const before = await snapshot();
    const before2 = await stateOf(actor.userId);
    expect(before2.twoFactor).toHaveLength(1);
    expect(before2.codes).toHaveLength(10);
    expect(before2.sessions).toHaveLength(2);

    // Typed in another case: still them.
    const result = await resetTwoFactorByEmail(actor.email.toUpperCase());
    expect(result).toEqual({ found: true, userId: actor.userId, email: actor.email, hadTwoFactor: true, sessionsEnded: 2 });
    expect(await stateOf(actor.userId)).toEqual({ twoFactor: [], codes: [], sessions: [] });
    expect(await stateOf(bystander.userId)).toEqual(theirs);
    expect(await auditSince(before)).toMatchObject([
      {
        action: "user.two_factor_reset",
        actorUserId: null,
        actorLabel: "Server command",
        targetId: actor.userId,
        targetLabel: actor.email,
        metadata: { had_two_factor: true, sessions_ended: 2 },
      },
    ]);
  });

  it("an unknown email, or a service account's address, changes nothing and audits nothing", async () => {
    const account = await makeUser("staff");
    await db().update(users).set({ kind: "service_account" }).where(eq(users.id, account.userId));
    const before = await snapshot();
    await expect(resetTwoFactorByEmail("nobody@example.test")).resolves.toEqual({ found: false });
    await expect(resetTwoFactorByEmail(account.email)).resolves.toEqual({ found: false });
    await expectUnchanged(before);
  });
});

describe("npm run user:reset-2fa -- <email>", () => {
  it("without an email (or with two) prints its usage and exits 2, changing nothing", () => {
    for (const args of [[], ["a@example.test", "b@example.test"], ["not-an-email"]]) {
      const run = runScript(args, { DATABASE_URL: "postgres://127.0.0.1:1/none" });
      expect(run.status, run.output).toBe(2);
      expect(run.output).toContain("Usage: npm run user:reset-2fa -- <email>");
    }
  });

  it.skipIf(process.env.TEST_DB !== "postgres")("on PostgreSQL (DATABASE_URL): resets the person and says so", async () => {
    const actor = await personWithTwoFactor("admin");
    const run = runScript([actor.email], { DATABASE_URL: testDatabaseUrl() });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain(`Two-factor authentication is off for ${actor.email} (2 sessions ended).`);
    expect(await stateOf(actor.userId)).toEqual({ twoFactor: [], codes: [], sessions: [] });
    const missing = runScript(["nobody@example.test"], { DATABASE_URL: testDatabaseUrl() });
    expect(missing.status, missing.output).toBe(1);
    expect(missing.output.trim()).toBe("No person with the email nobody@example.test. Nothing changed.");
  });

  it.skipIf(process.env.TEST_DB === "postgres")(
    "on the embedded database (LATCHKEY_DATA_DIR): resets the person; a folder in use is refused in one message, exit 1",
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-reset-2fa-"));
      try {
        const opened = await openDatabase({ dataDir: dir, poolMax: 1 });
        const actor = await withConnection(opened.connection, () => personWithTwoFactor());
        await opened.close();

        const run = runScript([actor.email], { LATCHKEY_DATA_DIR: dir, DATABASE_URL: undefined });
        expect(run.status, run.output).toBe(0);
        expect(run.output).toContain(`Two-factor authentication is off for ${actor.email}`);

        const reopened = await openDatabase({ dataDir: dir, poolMax: 1 });
        try {
          await withConnection(reopened.connection, async () => {
            expect(await stateOf(actor.userId)).toEqual({ twoFactor: [], codes: [], sessions: [] });
            const [row] = await db().select().from(auditLog).where(eq(auditLog.action, "user.two_factor_reset"));
            expect(row).toMatchObject({ actorLabel: "Server command", targetId: actor.userId });
          });
        } finally {
          await reopened.close();
        }

        const held = await startEmbeddedDatabase(dir);
        try {
          const refused = runScript([actor.email], { LATCHKEY_DATA_DIR: dir, DATABASE_URL: undefined });
          expect(refused.status, refused.output).toBe(1);
          expect(refused.output).not.toMatch(/^\s+at /m);
          expect(refused.output).toMatch(new RegExp(`The data folder ${dir} is in use by another Latchkey process`));
        } finally {
          await held.stop();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
