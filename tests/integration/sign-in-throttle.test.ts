import { and, eq, gte, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { auditLog, users } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { hashPassword } from "@/lib/auth/password";
import { delaySeconds, THROTTLE } from "@/lib/auth/throttle";
import { ServiceError } from "@/lib/errors";
import { changeOwnPassword } from "@/lib/users/password";
import { verifyCredentials } from "@/lib/users/service";
import { setupTestDatabase } from "../helpers/db";
import { auditSince, expectOnlyChanged, makeUser, snapshot, userRow, withSession } from "../helpers/fixtures";

/**
 * Limits that cannot be turned against users: failures slow down per (email, address) and per
 * address, with a bounded delay; the right password from elsewhere is never affected, and from
 * the same address it gets in after at most THROTTLE.maxDelaySeconds. Time is driven by passing
 * `now`; nothing sleeps.
 */

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

const PASSWORD = "right password 1";
let counter = 0;
const at = (base: Date, seconds: number) => new Date(base.getTime() + seconds * 1000);

async function person(role: "owner" | "staff" = "staff"): Promise<Actor> {
  counter += 1;
  const actor = await makeUser(role, { email: `throttle-${counter}-${Date.now()}@example.test` });
  await db()
    .update(users)
    .set({ passwordHash: await hashPassword(PASSWORD) })
    .where(eq(users.id, actor.userId));
  return actor;
}

/** An address no other test uses. */
const address = () => `203.0.113.${(counter += 1) % 250}`;

type Outcome = "in" | "wrong" | { limited: number };
async function attempt(email: string, password: string, ip: string, now: Date): Promise<Outcome> {
  try {
    return (await verifyCredentials({ email, password }, ip, now)) ? "in" : "wrong";
  } catch (error) {
    if (error instanceof ServiceError && error.code === "rate_limited") return { limited: error.retryAfterSeconds! };
    throw error;
  }
}

/** `n` wrong passwords for the pair, each one as soon as the throttle lets it in; returns the time of the last. */
async function failUntilCounted(email: string, ip: string, n: number, start: Date): Promise<Date> {
  let now = start;
  for (let done = 0; done < n;) {
    const outcome = await attempt(email, `wrong password ${done}`, ip, now);
    if (outcome === "wrong") done += 1;
    else if (outcome === "in") throw new Error("a wrong password got in");
    else now = at(now, outcome.limited);
  }
  return now;
}

const rows = (action: string, label: string, since: Date) =>
  db()
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.targetLabel, label), gte(auditLog.createdAt, new Date(since.getTime() - 1000))));

describe("sign-in throttle", () => {
  it("the delay shape: free, then doubling, never over the bound", () => {
    expect([4, 5, 6, 7, 10, 11, 50, 10_000].map((n) => delaySeconds(n, 5))).toEqual([0, 1, 2, 4, 32, 60, 60, 60]);
  });

  it("five wrong passwords from one address never stop the right password from another, even the Owner's", async () => {
    const owner = await person("owner");
    const attacker = address();
    const start = new Date();
    for (let i = 0; i < 5; i++) expect(await attempt(owner.email, `wrong ${i}`, attacker, start)).toBe("wrong");
    // Repeating it (as before, "keeps them out for good") changes nothing for another address.
    for (let i = 0; i < 20; i++) await attempt(owner.email, `wrong again ${i}`, attacker, at(start, i));
    expect(await attempt(owner.email, PASSWORD, address(), at(start, 20))).toBe("in");
  });

  it("from the same address the right password gets in once the delay has passed, however long the attack", async () => {
    const { email } = await person();
    const ip = address();
    const start = new Date("2030-01-01T00:00:00Z");
    let last = await failUntilCounted(email, ip, 5, start);
    const limited = await attempt(email, PASSWORD, ip, last);
    expect(limited).toEqual({ limited: 1 });
    expect(await attempt(email, PASSWORD, ip, at(last, 1))).toBe("in");

    // A success cleared the pair: one more failure does not make the next attempt wait.
    const after = at(last, 2);
    expect(await attempt(email, "wrong once", ip, after)).toBe("wrong");
    expect(await attempt(email, PASSWORD, ip, after)).toBe("in");

    // A long attack: the wait grows, but never beyond the bound.
    last = await failUntilCounted(email, ip, 25, at(after, 1));
    const refusal = await attempt(email, PASSWORD, ip, last);
    expect(refusal).toEqual({ limited: THROTTLE.maxDelaySeconds });
    expect(await attempt(email, PASSWORD, ip, at(last, THROTTLE.maxDelaySeconds - 1))).toMatchObject({ limited: 1 });
    expect(await attempt(email, PASSWORD, ip, at(last, THROTTLE.maxDelaySeconds))).toBe("in");
  });

  it("within the free failures nobody waits, even for a failure written by an instance whose clock runs ahead", async () => {
    const { email } = await person();
    const ip = address();
    const here = new Date("2030-03-01T00:00:00Z");
    // Another instance, its clock 10 s ahead, counted one wrong password.
    expect(await attempt(email, "wrong on the other instance", ip, at(here, 10))).toBe("wrong");
    // Here, "before" that failure by our clock: the right password gets in at once.
    expect(await attempt(email, PASSWORD, ip, here)).toBe("in");
  });

  it("the message says how long to wait", async () => {
    const { email } = await person();
    const ip = address();
    const last = await failUntilCounted(email, ip, 7, new Date("2030-02-01T00:00:00Z"));
    const error = await verifyCredentials({ email, password: PASSWORD }, ip, last).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "rate_limited",
      retryAfterSeconds: 4,
      message: "Too many failed sign-ins. Try again in 4 seconds.",
    });
  });

  it("thirty failures from one address across many emails slow that address only", async () => {
    const victim = await person();
    const ip = address();
    const start = new Date("2030-03-01T00:00:00Z");
    // 30 different emails, one wrong password each: no pair reaches its limit.
    for (let i = 0; i < THROTTLE.addressFreeFailures; i++) {
      expect(await attempt(`nobody-${i}-${counter}@example.test`, "wrong password", ip, at(start, i))).toBe("wrong");
    }
    const last = at(start, THROTTLE.addressFreeFailures - 1);
    expect(await attempt(victim.email, PASSWORD, ip, last)).toEqual({ limited: 1 });
    expect(await attempt(victim.email, PASSWORD, address(), last)).toBe("in");
    expect(await attempt(victim.email, PASSWORD, ip, at(last, 1))).toBe("in");
  });

  it("a good sign-in from a slowed address does not make the others there wait", async () => {
    const [first, second] = [await person(), await person()];
    const ip = address();
    const start = new Date("2030-03-15T00:00:00Z");
    for (let i = 0; i < THROTTLE.addressFreeFailures; i++) {
      expect(await attempt(`nobody-${i}-${counter}@example.test`, "wrong password", ip, at(start, i))).toBe("wrong");
    }
    // The address waits 1 s after its last failure; then one person gets in...
    const later = at(start, THROTTLE.addressFreeFailures + 5);
    expect(await attempt(first.email, PASSWORD, ip, later)).toBe("in");
    // ...and that success is not a failure: the next person is not told to wait for it.
    expect(await attempt(second.email, PASSWORD, ip, at(later, 0.5))).toBe("in");
  });

  it("a flood of limited attempts checks no password and writes exactly one audit row per window", async () => {
    const { email } = await person();
    const ip = address();
    const start = new Date();
    const last = await failUntilCounted(email, ip, 12, start); // the wait is now 60 s
    const failedBefore = (await rows("auth.sign_in_failed", email, start)).length;

    const before = await snapshot();
    const flood = await Promise.all(Array.from({ length: 40 }, () => attempt(email, PASSWORD, ip, at(last, 1))));
    expect(flood.every((o) => typeof o === "object" && "limited" in o)).toBe(true);
    // Refused: no row changed (the audit log is counted below).
    await expectOnlyChanged(before, {});
    expect(await rows("auth.sign_in_rate_limited", email, start)).toHaveLength(1);
    expect(await rows("auth.sign_in_failed", email, start)).toHaveLength(failedBefore);

    // A new window may write one more row, still only one.
    const later = at(last, THROTTLE.auditWindowMs / 1000 - 30);
    await failUntilCounted(email, ip, 1, later);
    await Promise.all(Array.from({ length: 10 }, () => attempt(email, PASSWORD, ip, at(later, 61))));
    expect(await rows("auth.sign_in_rate_limited", email, start)).toHaveLength(2);
  });

  it("concurrent right and wrong passwords of one pair never deadlock", async () => {
    const { email } = await person();
    const ip = address();
    const start = new Date("2030-06-01T00:00:00Z");
    for (let round = 0; round < 15; round++) {
      // Each round well after the last, so every attempt is admitted: the right ones then record
      // their success while the wrong ones are being admitted, on the same two rows.
      const now = at(start, round * 3600);
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => attempt(email, i % 2 ? PASSWORD : `wrong ${i}`, ip, now)));
      expect(outcomes.filter((o) => o === "in").length).toBeGreaterThan(0);
    }
  });

  it("concurrent wrong passwords cannot slip past the limit", async () => {
    const { email } = await person();
    const ip = address();
    const now = new Date("2030-04-01T00:00:00Z");
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(email, `wrong ${i}`, ip, now)));
    expect(outcomes.filter((o) => o === "wrong")).toHaveLength(THROTTLE.pairFreeFailures);
  });
});

describe("password change throttle", () => {
  async function change(actor: Actor, current: string, now: Date, next = "brand new password"): Promise<Outcome> {
    try {
      await changeOwnPassword(actor, { current_password: current, new_password: next }, now);
      return "in";
    } catch (error) {
      if (error instanceof ServiceError && error.code === "rate_limited") return { limited: error.retryAfterSeconds! };
      if (error instanceof ServiceError && error.code === "invalid") return "wrong";
      throw error;
    }
  }

  it("wrong current passwords are audited and slowed per (user, address), with a bounded delay", async () => {
    const actor = await withSession({ ...(await person()), ip: address() });
    const start = new Date("2030-05-01T00:00:00Z");
    for (let i = 0; i < 5; i++) expect(await change(actor, `wrong ${i}`, at(start, i))).toBe("wrong");
    const last = at(start, 4);
    const before = await snapshot();
    expect(await change(actor, PASSWORD, last)).toEqual({ limited: 1 });
    // The right password, refused for now: the password and the sessions stay as they were.
    await expectOnlyChanged(before, {});
    expect(await auditSince(before)).toMatchObject([
      { action: "user.password_change_rate_limited", actorUserId: actor.userId, targetId: actor.userId },
    ]);
    const failed = await db()
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.targetId, actor.userId),
          inArray(auditLog.action, ["user.password_change_failed", "user.password_change_rate_limited"]),
        ),
      );
    expect(failed.filter((r) => r.action === "user.password_change_failed")).toHaveLength(5);
    expect(failed.filter((r) => r.action === "user.password_change_rate_limited")).toHaveLength(1);
    // From another address the pair is another pair.
    const hashBefore = (await userRow(actor.userId))!.passwordHash;
    const elsewhere = await snapshot();
    expect(await change({ ...actor, ip: address() }, PASSWORD, last, "changed elsewhere 1")).toBe("in");
    await expectOnlyChanged(elsewhere, { users: [actor.userId] });
    expect((await userRow(actor.userId))!.passwordHash).not.toBe(hashBefore);
    expect(await auditSince(elsewhere)).toMatchObject([
      { action: "user.password_changed", actorUserId: actor.userId, targetId: actor.userId },
    ]);
    expect(await change(actor, "changed elsewhere 1", at(last, 1), "changed again 2")).toBe("in");
  });

  it("a flood of limited password changes writes one audit row", async () => {
    const actor = await withSession({ ...(await person()), ip: address() });
    const start = new Date("2030-06-01T00:00:00Z");
    for (let i = 0; i < 8; i++) await change(actor, `wrong ${i}`, at(start, i * 60));
    const last = at(start, 7 * 60);
    const before = await snapshot();
    const flood = await Promise.all(Array.from({ length: 20 }, () => change(actor, PASSWORD, at(last, 1))));
    expect(flood.every((o) => typeof o === "object")).toBe(true);
    await expectOnlyChanged(before, {});
    const limited = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, actor.userId), eq(auditLog.action, "user.password_change_rate_limited")));
    expect(limited).toHaveLength(1);
  });
});
