/**
 * Two-factor authentication (SPEC §12, issue 11): set-up and Turn on, the second sign-in step with
 * a TOTP or a recovery code, Turn off, new recovery codes, Confirm it's you with a code, the
 * limit on wrong codes, and the organisation's policy holding people back until they set it up.
 * Time is passed in (`now`); nothing sleeps.
 */
import { and, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authThrottle, recoveryCodes, sessions, users, userTwoFactor } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { TWO_FACTOR_SET_UP_REQUIRED_MESSAGE } from "@/lib/auth/authorize";
import { confirmIdentity, ENTER_CODE_MESSAGE, SIGN_IN_AGAIN_MESSAGE, WRONG_PASSWORD_MESSAGE } from "@/lib/auth/confirm";
import { hashPassword, NO_PASSWORD_HASH } from "@/lib/auth/password";
import { findActiveSession, findPendingSession, listOwnSessions, SECOND_FACTOR_MAX_AGE_MS, SESSION_MAX_AGE_MS } from "@/lib/auth/sessions";
import { THROTTLE, twoFactorThrottleKeys } from "@/lib/auth/throttle";
import { totpCodeAt, totpStep } from "@/lib/auth/totp";
import {
  ALREADY_ON_MESSAGE,
  beginTwoFactorSetup,
  disableTwoFactor,
  enableTwoFactor,
  getTwoFactorStatus,
  NOT_ON_MESSAGE,
  passSecondFactor,
  regenerateRecoveryCodes,
  REQUIRED_BY_POLICY_MESSAGE,
  SET_UP_FIRST_MESSAGE,
  SIGN_IN_EXPIRED_MESSAGE,
} from "@/lib/auth/two-factor";
import { REUSED_CODE_MESSAGE, USED_RECOVERY_CODE_MESSAGE, WRONG_CODE_MESSAGE } from "@/lib/auth/two-factor-codes";
import { CONFIRMATION_REQUIRED_MESSAGE } from "@/lib/errors";
import { createApiKey } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { updateTwoFactorPolicy } from "@/lib/settings/service";
import { changeOwnPassword } from "@/lib/users/password";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectUnchanged, makeUser, snapshot, withSession } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let owner: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  owner = await makeUser("owner");
});
afterAll(() => teardown());

const PASSWORD = "correct horse battery";
const MINUTE = 60 * 1000;
const STEP = 30 * 1000;
let counter = 0;
const address = () => `198.51.100.${(counter += 1) % 250}`;
const later = (now: Date, ms: number) => new Date(now.getTime() + ms);
/** The middle of the current 30-second step: a test's few seconds never cross into the next one. */
const midStep = () => new Date(Math.floor(Date.now() / STEP) * STEP + STEP / 2);

/** The code an authenticator app shows for `secret` at `now` (steps: 30 s each, offset from now's). */
const codeAt = (secret: string, now: Date, steps = 0) => totpCodeAt(secret, totpStep(now) + steps);

/** A person with a password and a fresh browser session, as getActor builds them. */
async function person(role: Actor["role"] = "staff", ip = address()): Promise<Actor & { sessionId: string }> {
  const actor = await makeUser(role);
  await db()
    .update(users)
    .set({ passwordHash: await hashPassword(PASSWORD) })
    .where(eq(users.id, actor.userId));
  return withSession({ ...actor, ip, twoFactor: false, hasPassword: true });
}

/** Sets 2FA up and turns it on for `actor` at `now`; returns the secret (from the Setup key) and the recovery codes. */
async function withTwoFactor(actor: Actor, now = new Date()) {
  const { setupKey } = await beginTwoFactorSetup(actor, now);
  const secret = setupKey.replace(/ /g, "");
  const { recoveryCodes: codes } = await enableTwoFactor(actor, codeAt(secret, now), now);
  return { secret, codes, enabledAt: now };
}

const twoFactorRow = async (userId: string) => (await db().select().from(userTwoFactor).where(eq(userTwoFactor.userId, userId)))[0];
const codeRows = (userId: string) => db().select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId));
const sessionRow = async (id: string) => (await db().select().from(sessions).where(eq(sessions.id, id)))[0];
/** The rows a refused code must leave as they were: the person's 2FA row and recovery codes. */
const twoFactorState = async (userId: string) => ({ row: await twoFactorRow(userId), codes: await codeRows(userId) });
const failuresOf = async (key: string) => (await db().select().from(authThrottle).where(eq(authThrottle.key, key)))[0]?.failures ?? 0;

/** A refused call: the given refusal, the person's 2FA rows and every watched table as they were, and only `audited` audited. */
async function expectRefused(actor: Actor, call: () => Promise<unknown>, refusal: object, audited: string[] = []) {
  const state = await twoFactorState(actor.userId);
  const before = await snapshot();
  await expect(call()).rejects.toMatchObject(refusal);
  expect(await twoFactorState(actor.userId)).toEqual(state);
  if (audited.length === 0) await expectUnchanged(before);
  else expect((await auditSince(before)).map((row) => row.action)).toEqual(audited);
}

describe("set-up and Turn on", () => {
  it("a new sealed secret, shown as a QR code and a Setup key; the first code turns it on with 10 recovery codes", async () => {
    const actor = await person();
    const now = midStep();
    expect(await getTwoFactorStatus(actor)).toMatchObject({ enabled: false, recoveryCodesLeft: 0 });
    const setup = await beginTwoFactorSetup(actor, now);
    const secret = setup.setupKey.replace(/ /g, "");
    expect(setup.setupKey).toMatch(/^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
    const uri = new URL(setup.uri);
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(uri.searchParams.get("issuer")).toBe("Latchkey");
    expect(decodeURIComponent(uri.pathname)).toBe(`/Latchkey:${actor.email}`);
    // Stored sealed, not as the secret, and not on yet: a sign-in asks no code.
    const row = await twoFactorRow(actor.userId);
    expect(row).toMatchObject({ enabledAt: null, lastUsedStep: null, keyVersion: 1 });
    expect(JSON.stringify(row)).not.toContain(secret);
    expect((await sessionRow((await withSession(actor)).sessionId))?.secondFactorPending).toBe(false);

    const before = await snapshot();
    const { recoveryCodes: codes } = await enableTwoFactor(actor, codeAt(secret, now), now);
    expect(codes).toHaveLength(10);
    expect(await twoFactorRow(actor.userId)).toMatchObject({ enabledAt: now, lastUsedStep: totpStep(now) });
    const stored = await codeRows(actor.userId);
    expect(stored).toHaveLength(10);
    for (const code of codes) expect(JSON.stringify(stored)).not.toContain(code.replace("-", ""));
    expect(await auditSince(before)).toMatchObject([
      { action: "user.two_factor_enabled", actorUserId: actor.userId, targetId: actor.userId, metadata: { recovery_codes: 10 } },
    ]);
    expect(await getTwoFactorStatus(actor)).toMatchObject({ enabled: true, enabledAt: now, recoveryCodesLeft: 10, required: false });
  });

  it("starting again replaces an unfinished set-up: the first secret's code no longer turns it on", async () => {
    const actor = await person();
    const now = midStep();
    const first = (await beginTwoFactorSetup(actor, now)).setupKey.replace(/ /g, "");
    const second = (await beginTwoFactorSetup(actor, now)).setupKey.replace(/ /g, "");
    expect(second).not.toBe(first);
    await expectRefused(actor, () => enableTwoFactor(actor, codeAt(first, now), now), { code: "invalid", field: "code" }, [
      "auth.two_factor_failed",
    ]);
    await expect(enableTwoFactor(actor, codeAt(second, now), now)).resolves.toHaveProperty("recoveryCodes");
  });

  // Bad input for Turn on: a clear message under the field, counted, audited, nothing changed.
  it.each([
    ["a wrong code", () => "000000", WRONG_CODE_MESSAGE],
    ["an expired code (two steps old)", (s: string, n: Date) => codeAt(s, n, -2), WRONG_CODE_MESSAGE],
    ["not a code at all", () => "hello", WRONG_CODE_MESSAGE],
    ["a recovery code (none exist yet)", () => "k3f9a-2mx7q", WRONG_CODE_MESSAGE],
  ])("Turn on refuses %s", async (_what, codeOf, message) => {
    const actor = await person();
    const now = midStep();
    const secret = (await beginTwoFactorSetup(actor, now)).setupKey.replace(/ /g, "");
    const code = codeOf(secret, now);
    if (code === codeAt(secret, now) || code === codeAt(secret, now, -1) || code === codeAt(secret, now, 1)) return; // one in a million
    await expectRefused(actor, () => enableTwoFactor(actor, code, now), { code: "invalid", field: "code", message }, [
      "auth.two_factor_failed",
    ]);
    expect(await failuresOf(twoFactorThrottleKeys(actor.userId, actor.ip).pair)).toBe(1);
  });

  it("refuses Turn on before set-up, set-up or Turn on when already on, and everything through an API key", async () => {
    const actor = await person();
    await expectRefused(actor, () => enableTwoFactor(actor, "123456"), { code: "conflict", message: SET_UP_FIRST_MESSAGE });
    const { secret } = await withTwoFactor(actor);
    await expectRefused(actor, () => beginTwoFactorSetup(actor), { code: "conflict", message: ALREADY_ON_MESSAGE });
    await expectRefused(actor, () => enableTwoFactor(actor, codeAt(secret, new Date())), { code: "conflict", message: ALREADY_ON_MESSAGE });
    const other = await person();
    const { key } = await createApiKey(other, { name: "k", access_level: "read_write" });
    const viaKey: Actor = { ...other, sessionId: undefined, apiKey: { id: key.id, name: key.name, accessLevel: "read_write" } };
    for (const call of [
      () => beginTwoFactorSetup(viaKey),
      () => enableTwoFactor(viaKey, "123456"),
      () => getTwoFactorStatus(viaKey),
      () => disableTwoFactor(viaKey, { code: "123456" }),
      () => regenerateRecoveryCodes(viaKey, "123456"),
    ]) {
      await expectRefused(other, call, { code: "forbidden" });
    }
  });
});

describe("the second sign-in step", () => {
  async function signInWaiting(actor: Actor, now: Date) {
    const session = await withSession(actor, "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0", now);
    return session.sessionId;
  }

  it("a sign-in waits for the code: no page, no action, not listed; the code makes it a normal 12-hour session, audited", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    const sid = await signInWaiting(actor, now);
    expect(await sessionRow(sid)).toMatchObject({ secondFactorPending: true, expiresAt: later(now, SECOND_FACTOR_MAX_AGE_MS) });
    expect(await findActiveSession(sid, now)).toBeNull();
    expect(await findPendingSession(sid, now)).toMatchObject({ userId: actor.userId, email: actor.email });
    expect((await listOwnSessions(actor)).map((s) => s.id)).not.toContain(sid);

    const before = await snapshot();
    const at = later(now, 5000);
    await expect(passSecondFactor(sid, codeAt(secret, at), actor.ip, at)).resolves.toEqual({ userId: actor.userId });
    expect(await sessionRow(sid)).toMatchObject({
      secondFactorPending: false,
      confirmedAt: at,
      expiresAt: later(at, SESSION_MAX_AGE_MS),
    });
    expect(await findActiveSession(sid, at)).toMatchObject({ id: actor.userId, twoFactor: true, mustSetUpTwoFactor: false });
    expect(await findPendingSession(sid, at)).toBeNull();
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.two_factor_passed", actorUserId: actor.userId, targetId: actor.userId, ip: actor.ip, metadata: { method: "totp" } },
    ]);
  });

  it("a recovery code works once: audited with how many remain, refused the second time", async () => {
    const actor = await person();
    const { codes } = await withTwoFactor(actor);
    const now = midStep();
    const first = await signInWaiting(actor, now);
    const before = await snapshot();
    // Typed in capitals, without its dash: still the code.
    await passSecondFactor(first, codes[3]!.toUpperCase().replace("-", " "), actor.ip, now);
    expect(await sessionRow(first)).toMatchObject({ secondFactorPending: false });
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.recovery_code_used", metadata: { purpose: "sign_in", remaining: 9 } },
      { action: "auth.two_factor_passed", metadata: { method: "recovery_code" } },
    ]);
    expect(await getTwoFactorStatus({ ...actor, sessionId: first })).toMatchObject({ recoveryCodesLeft: 9 });

    const second = await signInWaiting(actor, now);
    await expectRefused(
      actor,
      () => passSecondFactor(second, codes[3]!, actor.ip, now),
      {
        code: "invalid",
        field: "code",
        message: USED_RECOVERY_CODE_MESSAGE,
      },
      ["auth.two_factor_failed"],
    );
    expect(await sessionRow(second)).toMatchObject({ secondFactorPending: true });
    // Another unused one still works.
    await passSecondFactor(second, codes[4]!, actor.ip, now);
  });

  it("a code is accepted once: the same code (or an older one) on the next sign-in is refused as reused", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    await passSecondFactor(await signInWaiting(actor, now), codeAt(secret, now), actor.ip, now);
    for (const steps of [0, -1]) {
      const sid = await signInWaiting(actor, now);
      await expectRefused(
        actor,
        () => passSecondFactor(sid, codeAt(secret, now, steps), actor.ip, later(now, 1000)),
        {
          code: "invalid",
          field: "code",
          message: REUSED_CODE_MESSAGE,
        },
        ["auth.two_factor_failed"],
      );
      expect(await sessionRow(sid)).toMatchObject({ secondFactorPending: true });
    }
    // The next step's code is new: it works.
    const sid = await signInWaiting(actor, now);
    await passSecondFactor(sid, codeAt(secret, later(now, STEP)), actor.ip, later(now, STEP));
  });

  it.each([
    ["a wrong code", () => "123456", "wrong"],
    ["an expired code (from a minute ago)", (s: string, n: Date) => codeAt(s, n, -2), "wrong"],
    ["a code for later", (s: string, n: Date) => codeAt(s, n, 2), "wrong"],
    ["a recovery code that is not theirs", () => "abcde-fghjk", "wrong"],
    ["text", () => "' or 1=1 --", "wrong"],
  ])("%s is refused: a clear message, counted, audited, the sign-in still waiting", async (_what, codeOf, reason) => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    const code = codeOf(secret, now);
    if ([-1, 0, 1].some((s) => codeAt(secret, now, s) === code)) return; // one in a million
    const sid = await signInWaiting(actor, now);
    const before = await snapshot();
    await expectRefused(
      actor,
      () => passSecondFactor(sid, code, actor.ip, now),
      { code: "invalid", field: "code", message: WRONG_CODE_MESSAGE },
      ["auth.two_factor_failed"],
    );
    expect(await auditSince(before)).toMatchObject([{ actorUserId: actor.userId, metadata: { purpose: "sign_in", reason } }]);
    expect(await findActiveSession(sid, now)).toBeNull();
    expect(await failuresOf(twoFactorThrottleKeys(actor.userId, actor.ip).pair)).toBe(1);
    expect(await failuresOf(twoFactorThrottleKeys(actor.userId, actor.ip).account!)).toBe(1);
  });

  it("a sign-in still waiting after 10 minutes is dead: even the right code is refused, and nothing changes", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    const sid = await signInWaiting(actor, now);
    const at = later(now, SECOND_FACTOR_MAX_AGE_MS);
    expect(await findPendingSession(sid, at)).toBeNull();
    await expectRefused(actor, () => passSecondFactor(sid, codeAt(secret, at), actor.ip, at), {
      code: "unauthorized",
      message: SIGN_IN_EXPIRED_MESSAGE,
    });
    expect(await findActiveSession(sid, at)).toBeNull();
  });

  it("only a waiting sign-in takes the step: a normal session, an unknown id or a malformed one are refused", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor);
    const at = later(new Date(), STEP);
    for (const sid of [actor.sessionId, "00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      await expectRefused(actor, () => passSecondFactor(sid, codeAt(secret, at), actor.ip, at), { code: "unauthorized" });
    }
  });

  it("two sign-ins racing with one code (or one recovery code): exactly one gets in", async () => {
    const actor = await person();
    const { secret, codes } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    for (const code of [codeAt(secret, now), codes[0]!]) {
      const sids = await Promise.all([signInWaiting(actor, now), signInWaiting(actor, now), signInWaiting(actor, now)]);
      const results = await Promise.allSettled(sids.map((sid) => passSecondFactor(sid, code, actor.ip, now)));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results.filter((r) => r.status === "rejected")) {
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "invalid", field: "code" });
      }
      const waiting = await Promise.all(sids.map(async (sid) => (await sessionRow(sid))!.secondFactorPending));
      expect(waiting.filter((w) => !w)).toHaveLength(1);
    }
  });
});

describe("wrong codes are rate limited like passwords, never locked out", () => {
  it("after the free failures from one address even the right code waits (one audit row); the wait over, it gets in", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    const sid = (await withSession(actor, null, now)).sessionId;
    for (let i = 0; i < THROTTLE.pairFreeFailures; i++) {
      await expect(passSecondFactor(sid, `00000${i}`, actor.ip, now)).rejects.toMatchObject({ code: "invalid" });
    }
    const before = await snapshot();
    const right = codeAt(secret, now);
    await expect(passSecondFactor(sid, right, actor.ip, now)).rejects.toMatchObject({ code: "rate_limited", retryAfterSeconds: 1 });
    await expect(passSecondFactor(sid, right, actor.ip, now)).rejects.toMatchObject({
      code: "rate_limited",
      message: "Too many wrong codes. Try again in 1 second.",
    });
    expect(await auditSince(before)).toMatchObject([
      { action: "auth.two_factor_rate_limited", metadata: { purpose: "sign_in", limited_by: "pair", retry_after_seconds: 1 } },
    ]);
    expect(await sessionRow(sid)).toMatchObject({ secondFactorPending: true });
    await passSecondFactor(sid, right, actor.ip, later(now, 1000));
    // A success starts the person's count again.
    expect(await failuresOf(twoFactorThrottleKeys(actor.userId, actor.ip).pair)).toBe(0);
    expect(await failuresOf(twoFactorThrottleKeys(actor.userId, actor.ip).account!)).toBe(0);
  });

  it("from many addresses: after 10 failures on the account any address waits, at most a minute; then the right code gets in", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    let now = midStep();
    const sid = (await withSession(actor, null, now)).sessionId;
    for (let i = 0; i < THROTTLE.accountFreeFailures; i++) {
      await expect(passSecondFactor(sid, `99999${i % 10}`, address(), now)).rejects.toMatchObject({ code: "invalid" });
    }
    const before = await snapshot();
    await expect(passSecondFactor(sid, "999990", address(), now)).rejects.toMatchObject({ code: "rate_limited" });
    // Keep guessing as fast as allowed: the wait grows, but never past THROTTLE.maxDelaySeconds.
    let waited = 0;
    for (let i = 0; i < 30 && waited < THROTTLE.maxDelaySeconds; i++) {
      try {
        await passSecondFactor(sid, "999991", address(), now);
      } catch (error) {
        const { code, retryAfterSeconds } = error as { code: string; retryAfterSeconds?: number };
        if (code === "rate_limited") {
          expect(retryAfterSeconds).toBeLessThanOrEqual(THROTTLE.maxDelaySeconds);
          waited = Math.max(waited, retryAfterSeconds!);
          now = later(now, retryAfterSeconds! * 1000);
        }
      }
    }
    expect(waited).toBe(THROTTLE.maxDelaySeconds);
    expect((await auditSince(before)).filter((r) => r.action === "auth.two_factor_rate_limited")).toMatchObject([
      { metadata: { limited_by: "account" } },
    ]);
    // The owner, from their own address, after at most a minute: the right code gets in.
    now = later(now, THROTTLE.maxDelaySeconds * 1000);
    await passSecondFactor(sid, codeAt(secret, now), actor.ip, now);
  });
});

describe("Turn off and new recovery codes", () => {
  it("Turn off within Confirm it's you's window: a code; the secret and the codes are gone, audited; sign-in asks nothing", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    const before = await snapshot();
    await disableTwoFactor({ ...actor, confirmedAt: now }, { code: codeAt(secret, now) }, now);
    expect(await twoFactorState(actor.userId)).toEqual({ row: undefined, codes: [] });
    expect(await auditSince(before)).toMatchObject([{ action: "user.two_factor_disabled", metadata: { second_factor: "totp" } }]);
    expect((await sessionRow((await withSession(actor)).sessionId))?.secondFactorPending).toBe(false);
  });

  it("Turn off after 15 minutes asks Confirm it's you: the password in the same dialog, and the one code serves both", async () => {
    const actor = await person();
    const { codes } = await withTwoFactor(actor);
    const stale: Actor = { ...actor, confirmedAt: new Date(Date.now() - 16 * MINUTE) };
    await expectRefused(actor, () => disableTwoFactor(stale, { code: codes[0]! }), {
      code: "confirmation_required",
      message: CONFIRMATION_REQUIRED_MESSAGE,
    });
    await expectRefused(
      actor,
      () => disableTwoFactor(stale, { code: codes[0]!, password: "not my password" }),
      {
        code: "invalid",
        field: "password",
        message: WRONG_PASSWORD_MESSAGE,
      },
      ["auth.confirm_failed"],
    );
    // The right password and a wrong code: nothing turned off, the session not confirmed.
    const session = await sessionRow(actor.sessionId);
    await expectRefused(
      actor,
      () => disableTwoFactor(stale, { code: "zzzzz-zzzzz", password: PASSWORD }),
      {
        code: "invalid",
        field: "code",
      },
      ["auth.two_factor_failed"],
    );
    expect(await sessionRow(actor.sessionId)).toEqual(session);

    const now = midStep();
    const before = await snapshot();
    await disableTwoFactor(stale, { code: codes[0]!, password: PASSWORD }, now);
    expect(await twoFactorRow(actor.userId)).toBeUndefined();
    expect((await sessionRow(actor.sessionId))?.confirmedAt).toEqual(now);
    expect((await auditSince(before)).map((r) => r.action)).toEqual([
      "auth.recovery_code_used",
      "auth.confirmed",
      "user.two_factor_disabled",
    ]);
  });

  it("Turn off refuses a wrong or reused code, when it is not on, and while the organisation requires it", async () => {
    const actor = await person("admin");
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    await passSecondFactor((await withSession(actor, null, now)).sessionId, codeAt(secret, now), actor.ip, now);
    await expectRefused(
      actor,
      () => disableTwoFactor(actor, { code: codeAt(secret, now) }, now),
      { code: "invalid", message: REUSED_CODE_MESSAGE },
      ["auth.two_factor_failed"],
    );
    await expectRefused(actor, () => disableTwoFactor(actor, { code: "111111" }, now), { code: "invalid", field: "code" }, [
      "auth.two_factor_failed",
    ]);
    await updateTwoFactorPolicy(owner, { require_two_factor: "admins" });
    try {
      await expectRefused(actor, () => disableTwoFactor(actor, { code: codeAt(secret, now, 1) }, now), {
        code: "forbidden",
        message: REQUIRED_BY_POLICY_MESSAGE,
      });
    } finally {
      await updateTwoFactorPolicy(owner, { require_two_factor: "off" });
    }
    const without = await person();
    await expectRefused(without, () => disableTwoFactor(without, { code: "123456" }), { code: "conflict", message: NOT_ON_MESSAGE });
  });

  it("Generate new recovery codes: a code first; the old ones stop working, the new ones work; audited", async () => {
    const actor = await person();
    const { codes: old } = await withTwoFactor(actor);
    await expectRefused(actor, () => regenerateRecoveryCodes(actor, "000000"), { code: "invalid", field: "code" }, [
      "auth.two_factor_failed",
    ]);
    const before = await snapshot();
    const { recoveryCodes: fresh } = await regenerateRecoveryCodes(actor, old[0]!);
    expect(fresh).toHaveLength(10);
    expect(fresh.some((code) => old.includes(code))).toBe(false);
    expect((await auditSince(before)).map((r) => r.action)).toEqual(["auth.recovery_code_used", "user.recovery_codes_regenerated"]);
    expect(await getTwoFactorStatus(actor)).toMatchObject({ recoveryCodesLeft: 10 });
    const now = midStep();
    const sid = (await withSession(actor, null, now)).sessionId;
    await expect(passSecondFactor(sid, old[1]!, actor.ip, now)).rejects.toMatchObject({ message: WRONG_CODE_MESSAGE });
    await passSecondFactor(sid, fresh[1]!, actor.ip, now);
  });
});

describe("Confirm it's you with two-factor authentication", () => {
  it("asks the password and a code; either wrong confirms nothing; both right confirm, audited with the method", async () => {
    const actor = await person();
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const session = await sessionRow(actor.sessionId);
    const now = midStep();
    await expectRefused(actor, () => confirmIdentity(actor, { password: PASSWORD }, now), {
      code: "invalid",
      field: "code",
      message: ENTER_CODE_MESSAGE,
    });
    await expectRefused(actor, () => confirmIdentity(actor, { code: codeAt(secret, now) }, now), { code: "invalid", field: "password" });
    await expectRefused(
      actor,
      () => confirmIdentity(actor, { password: "wrong", code: codeAt(secret, now) }, now),
      {
        code: "invalid",
        field: "password",
      },
      ["auth.confirm_failed"],
    );
    await expectRefused(
      actor,
      () => confirmIdentity(actor, { password: PASSWORD, code: "000000" }, now),
      {
        code: "invalid",
        field: "code",
        message: WRONG_CODE_MESSAGE,
      },
      ["auth.two_factor_failed"],
    );
    expect(await sessionRow(actor.sessionId)).toEqual(session);
    const before = await snapshot();
    await confirmIdentity(actor, { password: PASSWORD, code: codeAt(secret, now) }, now);
    expect((await sessionRow(actor.sessionId))?.confirmedAt).toEqual(now);
    expect(await auditSince(before)).toMatchObject([{ action: "auth.confirmed", metadata: { second_factor: "totp" } }]);
  });

  it("an account single sign-on made (no password): the code alone with 2FA; without 2FA, sign in again", async () => {
    const actor = await person();
    await db().update(users).set({ passwordHash: NO_PASSWORD_HASH }).where(eq(users.id, actor.userId));
    await expectRefused(actor, () => confirmIdentity(actor, { password: "anything" }), { code: "invalid", message: SIGN_IN_AGAIN_MESSAGE });
    const { secret } = await withTwoFactor(actor, new Date(Date.now() - 5 * MINUTE));
    const now = midStep();
    await confirmIdentity(actor, { code: codeAt(secret, now) }, now);
    expect((await sessionRow(actor.sessionId))?.confirmedAt).toEqual(now);
    // Turn off after 15 minutes: the code alone confirms too (there is no password to ask).
    const stale: Actor = { ...actor, confirmedAt: new Date(now.getTime() - 16 * MINUTE) };
    await disableTwoFactor(stale, { code: codeAt(secret, later(now, STEP)) }, later(now, STEP));
    expect(await twoFactorRow(actor.userId)).toBeUndefined();
  });
});

describe("Require two-factor authentication: a person it covers is held back until they set it up", () => {
  it("For Owners and Admins holds back an Admin without 2FA, not Staff; setting up and confirming stay open; the API too", async () => {
    const admin = await person("admin");
    const staff = await person("staff");
    const { key } = await createApiKey(admin, { name: "admin key", access_level: "read_write" });
    await updateTwoFactorPolicy(owner, { require_two_factor: "admins" });
    try {
      const adminNow = await findActiveSession(admin.sessionId);
      expect(adminNow).toMatchObject({ mustSetUpTwoFactor: true, twoFactor: false });
      expect(await findActiveSession(staff.sessionId)).toMatchObject({ mustSetUpTwoFactor: false });
      const held: Actor = { ...admin, mustSetUpTwoFactor: true };
      // Everything else is refused in the services, changing nothing.
      await expectRefused(admin, () => createApiKey(held, { name: "another", access_level: "read_write" }), {
        code: "forbidden",
        message: TWO_FACTOR_SET_UP_REQUIRED_MESSAGE,
      });
      await expectRefused(admin, () => updateTwoFactorPolicy(held, { require_two_factor: "off" }), {
        code: "forbidden",
        message: TWO_FACTOR_SET_UP_REQUIRED_MESSAGE,
      });
      // Change password too: with a stolen password it would end the real person's sessions.
      await expectRefused(admin, () => changeOwnPassword(held, { current_password: PASSWORD, new_password: "taken over 123" }), {
        code: "forbidden",
        message: TWO_FACTOR_SET_UP_REQUIRED_MESSAGE,
      });
      // The API is not affected: a key is its own credential.
      const viaKey: Actor = { ...admin, sessionId: undefined, apiKey: { id: key.id, name: key.name, accessLevel: "read_write" } };
      await expect(createApiKey(viaKey, { name: "through the API", access_level: "read_only" })).resolves.toHaveProperty("secret");
      // Setting it up is open to them; once on, they are free.
      await expect(getTwoFactorStatus(held)).resolves.toMatchObject({ enabled: false, required: true });
      await confirmIdentity(held, { password: PASSWORD });
      await withTwoFactor(held);
      expect(await findActiveSession(admin.sessionId)).toMatchObject({ mustSetUpTwoFactor: false, twoFactor: true });
      await updateTwoFactorPolicy(owner, { require_two_factor: "everyone" });
      expect(await findActiveSession(staff.sessionId)).toMatchObject({ mustSetUpTwoFactor: true });
    } finally {
      await updateTwoFactorPolicy(owner, { require_two_factor: "off" });
    }
    expect(await findActiveSession(staff.sessionId)).toMatchObject({ mustSetUpTwoFactor: false });
  });
});

describe("recovery codes are stored only as digests, one row each, unused until used", () => {
  it("10 unused rows, none readable as a code", async () => {
    const actor = await person();
    const { codes } = await withTwoFactor(actor);
    const rows = await db()
      .select()
      .from(recoveryCodes)
      .where(and(eq(recoveryCodes.userId, actor.userId), isNull(recoveryCodes.usedAt)));
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row.codeDigest).toMatch(/^[0-9a-f]{64}$/);
      for (const code of codes) expect(row.codeDigest).not.toContain(code.replace("-", ""));
    }
  });
});
