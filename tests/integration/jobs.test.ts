/**
 * The scheduled jobs (lib/jobs, SPEC §11): each job's effect, run twice (the same result, no
 * second notice or audit row), the unused-key policy refusing a key at the API at once, and the
 * advisory lock: with several instances on one database a job runs once. Time is driven by
 * running a job "as of" a later moment or by moving a row's times, never by waiting.
 */
import net from "node:net";
import { asc, eq, gt, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connect } from "@/db/client";
import { apiKeys, auditLog, authThrottle, jobRuns, notifications, organisationSettings, sessions } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { runJob, type Job } from "@/lib/jobs";
import { expiredNoticesJob, expiryWarningsJob } from "@/lib/jobs/expiry-notices";
import { pruneJob, READ_NOTIFICATION_RETENTION_MS, THROTTLE_QUIET_MS } from "@/lib/jobs/prune";
import { startScheduler } from "@/lib/jobs/scheduler";
import { unusedKeysJob } from "@/lib/jobs/unused-keys";
import { THROTTLE } from "@/lib/auth/throttle";
import { createApiKey, regenerateApiKey, setOwnApiKeyStatus, verifyApiKey } from "@/lib/keys/service";
import { db, keyCache } from "@/lib/runtime";
import { createApiApp } from "@/server/api/app";
import { setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { keyRow, makeUser, withSession } from "../helpers/fixtures";
import { spawnApiServer, stopServer } from "../helpers/spawn-server";

const onPostgres = process.env.TEST_DB === "postgres";
const DAY = 86_400_000;

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

beforeEach(async () => {
  // Each test starts from no keys, notices or runs (users stay: they are made fresh per test).
  await db().delete(apiKeys);
  await db().delete(notifications);
  await db().delete(jobRuns);
  await db().update(organisationSettings).set({ maxKeyLifetimeDays: null, disableUnusedAfterDays: null });
});

let seq = 0;
async function makeKey(owner: Actor, fields: Partial<typeof apiKeys.$inferInsert> = {}) {
  seq += 1;
  const { key, secret } = await createApiKey(owner, { name: `key ${seq}`, access_level: "read_only", expires_at: null });
  if (Object.keys(fields).length) await db().update(apiKeys).set(fields).where(eq(apiKeys.id, key.id));
  return { id: key.id, name: key.name, secret };
}

const noticesOf = (userId: string) =>
  db().select().from(notifications).where(eq(notifications.userId, userId)).orderBy(asc(notifications.createdAt), asc(notifications.id));

async function auditMark(): Promise<number> {
  const [row] = await db()
    .select({ id: sql<number>`coalesce(max(${auditLog.id}), 0)::int` })
    .from(auditLog);
  return row!.id;
}
const auditAfter = (mark: number) => db().select().from(auditLog).where(gt(auditLog.id, mark)).orderBy(asc(auditLog.id));

async function runsOf(name: string) {
  const [row] = await db().select().from(jobRuns).where(eq(jobRuns.name, name));
  return row;
}

describe("expiry warnings", () => {
  it("tells the holder once per key, threshold and expiry: 7 days, then 1 day; a second run adds nothing", async () => {
    const now = new Date();
    const owner = await makeUser("staff");
    const other = await makeUser("staff");
    const longAgo = new Date(now.getTime() - 60 * DAY);
    const inThreeDays = await makeKey(owner, { createdAt: longAgo, expiresAt: new Date(now.getTime() + 3 * DAY) });
    const inTwelveHours = await makeKey(owner, { createdAt: longAgo, expiresAt: new Date(now.getTime() + 12 * 3_600_000) });
    const inNineDays = await makeKey(owner, { createdAt: longAgo, expiresAt: new Date(now.getTime() + 9 * DAY) });
    const never = await makeKey(owner, { createdAt: longAgo });
    const disabled = await makeKey(other, { createdAt: longAgo, expiresAt: new Date(now.getTime() + 2 * DAY), status: "disabled" });
    const expired = await makeKey(other, { createdAt: longAgo, expiresAt: new Date(now.getTime() - 1000) });
    const mark = await auditMark();

    const first = await runJob(db(), expiryWarningsJob, { now });
    expect(first).toEqual({ status: "ran", summary: { notified: 2 } });
    const notices = await noticesOf(owner.userId);
    expect(notices.map((n) => [n.kind, n.keyId, n.keyName, n.data.days]).sort()).toEqual(
      [
        ["key_expiring", inThreeDays.id, inThreeDays.name, 7],
        ["key_expiring", inTwelveHours.id, inTwelveHours.name, 1],
      ].sort(),
    );
    const threeDays = notices.find((n) => n.keyId === inThreeDays.id)!;
    expect(new Date(threeDays.data.expires_at as string).getTime()).toBe((await keyRow(inThreeDays.id))!.expiresAt!.getTime());
    expect(await noticesOf(other.userId)).toEqual([]);
    for (const quiet of [inNineDays, never, disabled, expired]) expect(notices.some((n) => n.keyId === quiet.id)).toBe(false);
    const audited = await auditAfter(mark);
    expect(audited.map((a) => [a.action, a.actorUserId, a.actorLabel, a.metadata])).toEqual([
      ["job.ran", null, "Scheduled job", { job: "expiry-warnings", notified: 2 }],
    ]);

    // Run again (as another instance would): the same notices, nothing new, nothing audited.
    const second = await runJob(db(), expiryWarningsJob, { now });
    expect(second).toEqual({ status: "ran", summary: { notified: 0 } });
    expect((await noticesOf(owner.userId)).map((n) => n.id).sort()).toEqual(notices.map((n) => n.id).sort());
    expect(await auditAfter(mark)).toHaveLength(1);
    expect((await runsOf("expiry-warnings"))!.runs).toBe(2);

    // Two and a half days later the 3-day key is within a day: its 1-day notice, once
    // (the 2 notified include the 9-day key's 7-day one).
    const later = new Date(now.getTime() + 2.5 * DAY);
    expect(await runJob(db(), expiryWarningsJob, { now: later })).toEqual({ status: "ran", summary: { notified: 2 } });
    expect(await runJob(db(), expiryWarningsJob, { now: later })).toEqual({ status: "ran", summary: { notified: 0 } });
    const afterwards = await noticesOf(owner.userId);
    expect(
      afterwards
        .filter((n) => n.keyId === inThreeDays.id)
        .map((n) => n.data.days)
        .sort(),
    ).toEqual([1, 7]);
    expect(afterwards.filter((n) => n.keyId === inNineDays.id).map((n) => n.data.days)).toEqual([7]);
  });

  it("does not warn at a threshold a key was made inside of (a 7-day key gets only the 1-day notice)", async () => {
    const owner = await makeUser("staff");
    const now = new Date();
    const { key } = await createApiKey(owner, {
      name: "seven days",
      access_level: "read_only",
      expires_at: new Date(now.getTime() + 7 * DAY),
    });
    expect(await runJob(db(), expiryWarningsJob, { now })).toEqual({ status: "ran", summary: { notified: 0 } });
    const lastDay = new Date(now.getTime() + 6.5 * DAY);
    expect(await runJob(db(), expiryWarningsJob, { now: lastDay })).toEqual({ status: "ran", summary: { notified: 1 } });
    expect((await noticesOf(owner.userId)).map((n) => [n.keyId, n.data.days])).toEqual([[key.id, 1]]);
  });

  it("warns again for a new expiry (a regenerated key)", async () => {
    const owner = await makeUser("staff");
    const now = new Date();
    const key = await makeKey(owner, { createdAt: new Date(now.getTime() - 60 * DAY), expiresAt: new Date(now.getTime() + 3 * DAY) });
    await runJob(db(), expiryWarningsJob, { now });
    await regenerateApiKey(owner, key.id, { expires_at: new Date(now.getTime() + 5 * DAY) });
    expect(await runJob(db(), expiryWarningsJob, { now })).toEqual({ status: "ran", summary: { notified: 1 } });
    expect((await noticesOf(owner.userId)).map((n) => n.data.days)).toEqual([7, 7]);
  });
});

describe("expired notices", () => {
  it("tells the holder once per key and expiry that it expired; old expiries and disabled keys are left alone", async () => {
    const owner = await makeUser("staff");
    const now = new Date();
    const justExpired = await makeKey(owner, { expiresAt: new Date(now.getTime() - 60_000) });
    await makeKey(owner, { expiresAt: new Date(now.getTime() - 40 * DAY) });
    await makeKey(owner, { expiresAt: new Date(now.getTime() - 60_000), status: "disabled" });
    await makeKey(owner, { expiresAt: new Date(now.getTime() + 60_000) });
    const mark = await auditMark();

    expect(await runJob(db(), expiredNoticesJob, { now })).toEqual({ status: "ran", summary: { notified: 1 } });
    expect(await runJob(db(), expiredNoticesJob, { now })).toEqual({ status: "ran", summary: { notified: 0 } });
    const notices = await noticesOf(owner.userId);
    expect(notices.map((n) => [n.kind, n.keyId, n.keyName])).toEqual([["key_expired", justExpired.id, justExpired.name]]);
    expect((await auditAfter(mark)).map((a) => [a.action, a.actorLabel, a.metadata])).toEqual([
      ["job.ran", "Scheduled job", { job: "expired-notices", notified: 1 }],
    ]);

    // Revived with a new expiry that passes too: a new notice (and the one expiring in a minute gets its own).
    await regenerateApiKey(owner, justExpired.id, { expires_at: new Date(now.getTime() + DAY) });
    expect(await runJob(db(), expiredNoticesJob, { now: new Date(now.getTime() + 2 * DAY) })).toEqual({
      status: "ran",
      summary: { notified: 2 },
    });
    expect((await noticesOf(owner.userId)).filter((n) => n.keyId === justExpired.id)).toHaveLength(2);
  });
});

describe("the unused-key policy", () => {
  async function setPolicy(days: number | null) {
    await db().update(organisationSettings).set({ disableUnusedAfterDays: days });
  }

  it("does nothing while Disable keys unused for is Off", async () => {
    const owner = await makeUser("staff");
    const old = await makeKey(owner, { activeSince: new Date(Date.now() - 400 * DAY) });
    expect(await runJob(db(), unusedKeysJob)).toEqual({ status: "ran", summary: { disabled: 0 } });
    expect((await keyRow(old.id))!.status).toBe("active");
  });

  it("disables the keys unused for longer than the policy, with reason, audit and notice; a second run changes nothing", async () => {
    await setPolicy(30);
    const owner = await makeUser("staff");
    const now = new Date();
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    const neverUsed = await makeKey(owner, { activeSince: ago(40) });
    const usedLongAgo = await makeKey(owner, {
      activeSince: ago(100),
      lastUsedAt: ago(35),
      previousDigest: "f".repeat(64),
      previousExpiresAt: new Date(now.getTime() + DAY),
    });
    const usedRecently = await makeKey(owner, { activeSince: ago(100), lastUsedAt: ago(10) });
    const enabledRecently = await makeKey(owner, { activeSince: ago(5), lastUsedAt: ago(90) });
    const alreadyDisabled = await makeKey(owner, { activeSince: ago(100), status: "disabled" });
    const expired = await makeKey(owner, { activeSince: ago(100), expiresAt: ago(1) });
    const mark = await auditMark();

    expect(await runJob(db(), unusedKeysJob, { now })).toEqual({ status: "ran", summary: { disabled: 2 } });
    for (const key of [neverUsed, usedLongAgo]) {
      const row = (await keyRow(key.id))!;
      expect(row).toMatchObject({ status: "disabled", disabledReason: "unused", disabledByAdmin: false, disabledBy: null });
      expect(row.previousDigest).toBeNull();
      expect(row.previousExpiresAt).toBeNull();
    }
    for (const key of [usedRecently, enabledRecently, expired]) expect((await keyRow(key.id))!.status).toBe("active");
    expect((await keyRow(alreadyDisabled.id))!.disabledReason).toBeNull();

    const audited = await auditAfter(mark);
    expect(audited.map((a) => [a.action, a.actorUserId, a.actorLabel, a.targetId, a.metadata.reason, a.metadata.key_owner]).sort()).toEqual(
      [
        ["api_key.disabled", null, "Scheduled job", neverUsed.id, "unused", owner.email],
        ["api_key.disabled", null, "Scheduled job", usedLongAgo.id, "unused", owner.email],
        ["job.ran", null, "Scheduled job", null, undefined, undefined],
      ].sort(),
    );
    const notices = await noticesOf(owner.userId);
    expect(notices.map((n) => [n.kind, n.keyId, n.data]).sort()).toEqual(
      [
        ["key_disabled_unused", neverUsed.id, { days: 30 }],
        ["key_disabled_unused", usedLongAgo.id, { days: 30 }],
      ].sort(),
    );

    const rowsBefore = await db().select().from(apiKeys).orderBy(asc(apiKeys.id));
    expect(await runJob(db(), unusedKeysJob, { now })).toEqual({ status: "ran", summary: { disabled: 0 } });
    expect(await db().select().from(apiKeys).orderBy(asc(apiKeys.id))).toEqual(rowsBefore);
    expect(await auditAfter(mark)).toHaveLength(3);
    expect(await noticesOf(owner.userId)).toHaveLength(2);
  });

  it("lets the holder enable the key again, which restarts the clock; disabled again later, a new notice", async () => {
    await setPolicy(30);
    const owner = await makeUser("staff");
    const now = new Date();
    const key = await makeKey(owner, { activeSince: new Date(now.getTime() - 31 * DAY) });
    await runJob(db(), unusedKeysJob, { now });
    const enabled = await setOwnApiKeyStatus(owner, key.id, "active");
    expect(enabled).toMatchObject({ status: "active", disabledReason: null });
    expect(await runJob(db(), unusedKeysJob, { now: new Date(Date.now() + 29 * DAY) })).toEqual({
      status: "ran",
      summary: { disabled: 0 },
    });
    expect(await runJob(db(), unusedKeysJob, { now: new Date(Date.now() + 31 * DAY) })).toEqual({
      status: "ran",
      summary: { disabled: 1 },
    });
    expect((await noticesOf(owner.userId)).map((n) => n.kind)).toEqual(["key_disabled_unused", "key_disabled_unused"]);
  });

  it("makes the API refuse the key at once, from the verification cache too", async () => {
    await setPolicy(30);
    const owner = await makeUser("staff");
    const key = await makeKey(owner, { activeSince: new Date(Date.now() - 31 * DAY), lastUsedAt: new Date(Date.now() - 31 * DAY) });
    keyCache().configure("local");
    try {
      const app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
      const ping = () => app.request("/api/v1/ping", { headers: { Authorization: `Bearer ${key.secret}` } });
      // Used just now: still "unused" as the job sees it (last_used_at moves at most once a minute).
      await db()
        .update(apiKeys)
        .set({ lastUsedAt: new Date(Date.now() - 31 * DAY) })
        .where(eq(apiKeys.id, key.id));
      expect((await ping()).status).toBe(200);
      expect((await verifyApiKey(key.secret, null)).ok).toBe(true); // cached now
      await db()
        .update(apiKeys)
        .set({ lastUsedAt: new Date(Date.now() - 31 * DAY) })
        .where(eq(apiKeys.id, key.id));
      expect(await runJob(db(), unusedKeysJob)).toEqual({ status: "ran", summary: { disabled: 1 } });
      const refused = await ping();
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ code: 401, message: "No valid API key provided", param: null });
      expect(await verifyApiKey(key.secret, null)).toEqual({ ok: false, reason: "invalid" });
    } finally {
      keyCache().configure("off");
    }
  });
});

describe("pruning", () => {
  it("removes only ended previous secrets, expired sessions, quiet throttle rows and old read notices; a rerun finds nothing", async () => {
    const owner = await makeUser("staff");
    const now = new Date();
    const ended = await makeKey(owner, { previousDigest: "a".repeat(64), previousExpiresAt: new Date(now.getTime() - 1000) });
    const inGrace = await makeKey(owner, { previousDigest: "b".repeat(64), previousExpiresAt: new Date(now.getTime() + 3_600_000) });
    const expiredSession = (await withSession(owner)).sessionId;
    const liveSession = (await withSession(owner)).sessionId;
    await db()
      .update(sessions)
      .set({ expiresAt: new Date(now.getTime() - 1000) })
      .where(eq(sessions.id, expiredSession));
    await db().delete(authThrottle);
    await db()
      .insert(authThrottle)
      .values([
        { key: "sign_in:ip:192.0.2.1", failures: 3, updatedAt: new Date(now.getTime() - THROTTLE_QUIET_MS - 1000) },
        { key: "sign_in:ip:192.0.2.2", failures: 3, updatedAt: new Date(now.getTime() - 60_000) },
      ]);
    const old = new Date(now.getTime() - READ_NOTIFICATION_RETENTION_MS - DAY);
    const [oldRead, oldUnread, recentRead] = await db()
      .insert(notifications)
      .values([
        { userId: owner.userId, kind: "key_expired", createdAt: old, readAt: old },
        { userId: owner.userId, kind: "key_expired", createdAt: old },
        { userId: owner.userId, kind: "key_expired", createdAt: old, readAt: new Date(now.getTime() - DAY) },
      ])
      .returning();
    const mark = await auditMark();

    const first = await runJob(db(), pruneJob, { now });
    expect(first).toEqual({ status: "ran", summary: { previous_secrets: 1, sessions: 1, throttle_rows: 1, read_notifications: 1 } });
    expect(await keyRow(ended.id)).toMatchObject({ previousDigest: null, previousExpiresAt: null });
    expect(await keyRow(inGrace.id)).toMatchObject({ previousDigest: "b".repeat(64) });
    expect((await db().select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, owner.userId))).map((s) => s.id)).toEqual([
      liveSession,
    ]);
    expect((await db().select({ key: authThrottle.key }).from(authThrottle)).map((r) => r.key)).toEqual(["sign_in:ip:192.0.2.2"]);
    expect((await noticesOf(owner.userId)).map((n) => n.id).sort()).toEqual([oldUnread!.id, recentRead!.id].sort());
    expect((await noticesOf(owner.userId)).some((n) => n.id === oldRead!.id)).toBe(false);
    expect((await auditAfter(mark)).map((a) => [a.action, a.actorLabel, a.metadata])).toEqual([
      ["job.ran", "Scheduled job", { job: "prune", previous_secrets: 1, sessions: 1, throttle_rows: 1, read_notifications: 1 }],
    ]);

    expect(await runJob(db(), pruneJob, { now })).toEqual({
      status: "ran",
      summary: { previous_secrets: 0, sessions: 0, throttle_rows: 0, read_notifications: 0 },
    });
    expect(await auditAfter(mark)).toHaveLength(1);
  });

  it("keeps throttle rows exactly as long as the sign-in throttle needs them", () => {
    expect(THROTTLE_QUIET_MS).toBe(Math.max(THROTTLE.resetAfterMs, THROTTLE.auditWindowMs));
  });
});

describe("the runner", () => {
  it("records each run in job_runs, and a failure (rolled back) with its error", async () => {
    const someone = await makeUser("staff");
    const failing: Job = {
      name: "test-failing",
      async run(tx) {
        await tx.insert(notifications).values({ userId: someone.userId, kind: "key_expired" });
        throw new Error("boom");
      },
    };
    const before = await db().select({ id: notifications.id }).from(notifications);
    await expect(runJob(db(), failing)).rejects.toThrow("boom");
    expect(await db().select({ id: notifications.id }).from(notifications)).toEqual(before);
    expect(await runsOf("test-failing")).toMatchObject({ runs: 1, lastResult: null, lastError: expect.stringContaining("boom") });
    await runJob(db(), pruneJob);
    expect(await runsOf("prune")).toMatchObject({
      runs: 1,
      lastError: null,
      lastResult: expect.objectContaining({ sessions: expect.any(Number) }),
    });
  });

  it("skips a job that ran less than minGapMs ago (on any instance), and runs it once the gap has passed", async () => {
    const now = new Date();
    expect((await runJob(db(), pruneJob, { now, minGapMs: 30_000 })).status).toBe("ran");
    expect(await runJob(db(), pruneJob, { now: new Date(now.getTime() + 10_000), minGapMs: 30_000 })).toEqual({ status: "not_due" });
    expect((await runJob(db(), pruneJob, { now: new Date(now.getTime() + 31_000), minGapMs: 30_000 })).status).toBe("ran");
    expect((await runsOf("prune"))!.runs).toBe(2);
  });

  it("the scheduler runs every job and stops cleanly", async () => {
    const seen: string[] = [];
    const scheduler = startScheduler({
      database: db,
      jobs: [expiryWarningsJob, pruneJob],
      intervalMs: 60_000,
      firstRunAfterMs: 60_000,
      onOutcome: (name, outcome) => seen.push(`${name}:${outcome.status}`),
    });
    await scheduler.runNow();
    await scheduler.runNow(); // within the interval: not due
    await scheduler.stop();
    expect(seen).toEqual(["expiry-warnings:ran", "prune:ran", "expiry-warnings:not_due", "prune:not_due"]);
  });

  it("the scheduler runs nothing while the database is known to be unavailable", async () => {
    const seen: string[] = [];
    let up = false;
    const scheduler = startScheduler({
      database: db,
      jobs: [pruneJob],
      intervalMs: 60_000,
      firstRunAfterMs: 60_000,
      available: () => up,
      onOutcome: (name, outcome) => seen.push(`${name}:${outcome.status}`),
    });
    await scheduler.runNow();
    expect(seen).toEqual([]);
    expect(await runsOf("prune")).toBeUndefined();
    up = true;
    await scheduler.runNow();
    await scheduler.stop();
    expect(seen).toEqual(["prune:ran"]);
  });
});

describe.runIf(onPostgres)("several instances on one database (PostgreSQL)", () => {
  it("a job holding its lock makes every other instance skip it (busy), not wait", async () => {
    const other = connect(testDatabaseUrl(), { max: 2 });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = other.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${0x4c4b}, hashtext('prune'))`);
        locked();
        await held;
      });
      await isLocked;
      const before = await runsOf("prune");
      expect(await runJob(db(), pruneJob)).toEqual({ status: "busy" });
      expect(await runsOf("prune")).toEqual(before);
      release();
      await holder;
      expect((await runJob(db(), pruneJob)).status).toBe("ran");
    } finally {
      await other.sql.end();
    }
  });

  it("two instances racing: the job runs exactly once (once per interval), its notices raised once", async () => {
    const owner = await makeUser("staff");
    const now = new Date();
    await makeKey(owner, { createdAt: new Date(now.getTime() - 60 * DAY), expiresAt: new Date(now.getTime() + 3 * DAY) });
    const instances = [connect(testDatabaseUrl(), { max: 2 }), connect(testDatabaseUrl(), { max: 2 })];
    try {
      for (let round = 0; round < 5; round++) {
        await db().delete(jobRuns);
        await db().delete(notifications);
        const outcomes = await Promise.all(instances.map((i) => runJob(i.db, expiryWarningsJob, { minGapMs: 30_000 })));
        expect(outcomes.filter((o) => o.status === "ran")).toEqual([{ status: "ran", summary: { notified: 1 } }]);
        expect(outcomes.filter((o) => o.status !== "ran")).toHaveLength(1);
        expect((await runsOf("expiry-warnings"))!.runs).toBe(1);
        expect(await noticesOf(owner.userId)).toHaveLength(1);
      }
    } finally {
      await Promise.all(instances.map((i) => i.sql.end()));
    }
  });

  it("while one instance runs a job, another's attempt is refused by the lock (exactly one at a time)", async () => {
    const instances = [connect(testDatabaseUrl(), { max: 2 }), connect(testDatabaseUrl(), { max: 2 })];
    let inside = 0;
    let most = 0;
    const slow: Job = {
      name: "test-slow",
      async run(tx) {
        inside++;
        most = Math.max(most, inside);
        await tx.execute(sql`select pg_sleep(0.3)`);
        inside--;
        return { summary: { slept: 1 } };
      },
    };
    try {
      const outcomes = await Promise.all(instances.flatMap((i) => [runJob(i.db, slow), runJob(i.db, slow)]));
      expect(outcomes.filter((o) => o.status === "ran")).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === "busy")).toHaveLength(3);
      expect(most).toBe(1);
      expect((await runsOf("test-slow"))!.runs).toBe(1);
    } finally {
      await Promise.all(instances.map((i) => i.sql.end()));
    }
  });

  it("two real servers with the scheduler on: each job runs about once per interval in all, each notice is raised once", async () => {
    const owner = await makeUser("staff");
    const now = new Date();
    const key = await makeKey(owner, { createdAt: new Date(now.getTime() - 60 * DAY), expiresAt: new Date(now.getTime() + 3 * DAY) });
    const mark = await auditMark();
    const ports = [await freePort(), await freePort()];
    const servers = await Promise.all(
      ports.map((port) => spawnApiServer({ port, env: { DATABASE_URL: testDatabaseUrl(), LATCHKEY_JOB_INTERVAL_SECONDS: "1" } })),
    );
    const started = Date.now();
    try {
      // Until the expiry warnings have run a few times (the schedulers tick every second each).
      for (let i = 0; i < 100 && ((await runsOf("expiry-warnings"))?.runs ?? 0) < 4; i++) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await Promise.all(servers.map((s) => stopServer(s.child)));
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    const runs = (await runsOf("expiry-warnings"))!.runs;
    expect(runs).toBeGreaterThanOrEqual(4);
    // Two schedulers ticking every second would make about 2 runs a second without the lock and
    // the interval check; with them, one run per interval in all (a due run needs 0.9 s since the last).
    expect(runs).toBeLessThanOrEqual(elapsedSeconds / 0.9 + 1);
    expect((await noticesOf(owner.userId)).map((n) => [n.kind, n.keyId])).toEqual([["key_expiring", key.id]]);
    const audited = (await auditAfter(mark)).filter((a) => a.metadata.job === "expiry-warnings");
    expect(audited).toHaveLength(1);
    for (const job of ["expired-notices", "unused-keys", "prune"]) expect((await runsOf(job))?.runs, job).toBeGreaterThan(0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}
