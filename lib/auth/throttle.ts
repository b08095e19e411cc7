import "server-only";
import { eq, lt, sql } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { db } from "@/lib/runtime";
import { authThrottle } from "@/db/schema";

/**
 * Slows down failed password checks (sign-in and the password change form) and failed two-factor
 * codes without ever locking the right password (or code) out for good.
 *
 * Each attempt is counted under two keys: the pair (who, address) and the address alone; a
 * two-factor code also under its account from any address (twoFactorThrottleKeys). Once a
 * key has `free` failures, every further attempt under it must wait min(2^(n - free), 60) seconds
 * after that key's last failure (n = its failures), so the right password gets in after at most a
 * minute. Another address is never slowed by the pair's failures, and a success clears its pair.
 * Failures are forgotten after 15 quiet minutes.
 *
 * An attempt is admitted (and counted as a failure up front) inside one transaction that locks the
 * key rows, so concurrent attempts, on any number of instances, cannot slip past the limit; a
 * success then takes its count back. A refused attempt never reaches the password check, and
 * writes at most one "rate limited" audit row per key per audit window.
 */
export const THROTTLE = {
  /** Failures of one pair before each attempt has to wait. */
  pairFreeFailures: 5,
  /** Failures from one address (any account) before each attempt from it has to wait. */
  addressFreeFailures: 30,
  /**
   * Two-factor codes only: failures against one account from any address before each attempt has
   * to wait. Whoever is guessing codes already has the password and may have many addresses.
   */
  accountFreeFailures: 10,
  /** The longest wait, in seconds. */
  maxDelaySeconds: 60,
  /** A key with no failure for this long starts again from zero (and its row may be pruned). */
  resetAfterMs: 15 * 60 * 1000,
  /** At most one "rate limited" audit row per limited key per this window. */
  auditWindowMs: 15 * 60 * 1000,
} as const;

/** two_factor: authentication and recovery codes (the second sign-in step, Turn off, Confirm it's you, new recovery codes). */
export type ThrottleScope = "sign_in" | "password_change" | "two_factor";

export interface ThrottleKeys {
  /** The pair key, e.g. `sign_in:pair:<email> <address>`. */
  pair: string;
  /** The address key, or null when the address is unknown. */
  address: string | null;
  /** The account key, from any address (two-factor codes only). */
  account?: string;
}

/** The keys an attempt counts under: `subject` is the email (sign-in) or the user id (password change). */
export function throttleKeys(scope: ThrottleScope, subject: string, ip: string | null): ThrottleKeys {
  return { pair: `${scope}:pair:${subject} ${ip ?? "unknown"}`, address: ip ? `${scope}:ip:${ip}` : null };
}

/** A two-factor code's keys: the pair and the address as for passwords, and the account from anywhere. */
export function twoFactorThrottleKeys(userId: string, ip: string | null): ThrottleKeys {
  return { ...throttleKeys("two_factor", userId, ip), account: `two_factor:account:${userId}` };
}

/** "Try again in 1 second." / "Try again in 42 seconds." */
export function retryIn(seconds: number): string {
  return `Try again in ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
}

/** Seconds a key with `failures` failures must wait after its last one (0: no wait). */
export function delaySeconds(failures: number, free: number): number {
  if (failures < free) return 0;
  return Math.min(2 ** (failures - free), THROTTLE.maxDelaySeconds);
}

export type LimitedBy = "pair" | "address" | "account";

export type Admission =
  | {
      admitted: true;
      /** The address's last failure before this attempt was counted, for recordSuccess to put back. */
      addressFailureBefore: Date | null;
    }
  | {
      admitted: false;
      retryAfterSeconds: number;
      /** The key that refused the attempt, and whether this refusal is the one to audit. */
      limitedBy: LimitedBy;
      audit: boolean;
    };

interface Row {
  key: string;
  failures: number;
  lastFailureAt: Date | null;
  limitedAuditedAt: Date | null;
}

/** Every key of an attempt, in the one order all transactions lock them in. */
function keysInLockOrder(keys: ThrottleKeys): string[] {
  return [keys.pair, ...(keys.address ? [keys.address] : []), ...(keys.account ? [keys.account] : [])].sort();
}

/**
 * Locks the attempt's rows one at a time in key order, so that two transactions (an admission and
 * a success, on any instance) never hold one row each while waiting for the other's: a deadlock.
 */
async function lockRows(tx: Tx, keys: ThrottleKeys): Promise<Row[]> {
  const rows: Row[] = [];
  for (const key of keysInLockOrder(keys)) {
    const [row] = await tx
      .select({
        key: authThrottle.key,
        failures: authThrottle.failures,
        lastFailureAt: authThrottle.lastFailureAt,
        limitedAuditedAt: authThrottle.limitedAuditedAt,
      })
      .from(authThrottle)
      .where(eq(authThrottle.key, key))
      .for("update");
    if (row) rows.push(row);
  }
  return rows;
}

/**
 * Decides whether an attempt may check its password. Admitted attempts are counted as failures
 * at once (call `recordSuccess` when the password was right). Refused attempts change no counter;
 * `audit` is true for exactly one refusal per limited key per audit window, and `onRefused` runs
 * inside the same transaction, so the audit row and the mark commit together.
 */
export async function admitAttempt(
  keys: ThrottleKeys,
  now: Date = new Date(),
  onRefused?: (tx: Tx, refusal: Extract<Admission, { admitted: false }>) => Promise<void>,
): Promise<Admission> {
  return db().transaction(async (tx) => {
    await tx
      .insert(authThrottle)
      .values(keysInLockOrder(keys).map((key) => ({ key, updatedAt: now })))
      .onConflictDoNothing();
    const rows = await lockRows(tx, keys);
    const current = (row: Row) =>
      row.lastFailureAt && now.getTime() - row.lastFailureAt.getTime() < THROTTLE.resetAfterMs ? row.failures : 0;
    const waitOf = (row: Row | undefined, free: number) => {
      const delay = row?.lastFailureAt ? delaySeconds(current(row), free) : 0;
      // Within the free failures nothing waits, whatever the clocks say: another instance whose
      // clock runs ahead may have written a last failure that is still "in the future" here.
      if (delay === 0) return 0;
      const until = row!.lastFailureAt!.getTime() + delay * 1000;
      return Math.max(0, Math.ceil((until - now.getTime()) / 1000));
    };
    const limits: { by: LimitedBy; row: Row | undefined; wait: number }[] = (
      [
        ["pair", keys.pair, THROTTLE.pairFreeFailures],
        ["address", keys.address, THROTTLE.addressFreeFailures],
        ["account", keys.account, THROTTLE.accountFreeFailures],
      ] as const
    ).map(([by, key, free]) => {
      const row = key ? rows.find((r) => r.key === key) : undefined;
      return { by, row, wait: waitOf(row, free) };
    });
    // The longest wait decides (on a tie, the first: pair, then address, then account).
    const longest = limits.reduce((a, b) => (b.wait > a.wait ? b : a));

    if (longest.wait > 0) {
      const limitedBy = longest.by;
      const row = longest.row!;
      const audit = !row.limitedAuditedAt || now.getTime() - row.limitedAuditedAt.getTime() >= THROTTLE.auditWindowMs;
      if (audit) {
        await tx
          .update(authThrottle)
          .set({ limitedAuditedAt: now, updatedAt: now })
          .where(sql`${authThrottle.key} = ${row.key}`);
      }
      const refusal = { admitted: false as const, retryAfterSeconds: longest.wait, limitedBy, audit };
      await onRefused?.(tx, refusal);
      return refusal;
    }

    for (const row of rows) {
      await tx
        .update(authThrottle)
        .set({ failures: current(row) + 1, lastFailureAt: now, updatedAt: now })
        .where(sql`${authThrottle.key} = ${row.key}`);
    }
    const addressRow = keys.address ? rows.find((r) => r.key === keys.address) : undefined;
    return { admitted: true, addressFailureBefore: addressRow?.lastFailureAt ?? null };
  });
}

/**
 * The password (or code) was right: the pair (and the account, for codes) starts again from zero, and the address takes back the
 * failure its admission counted, and its time too, unless another attempt failed since (a good
 * sign-in never slows anyone else at the same address).
 */
export async function recordSuccess(
  keys: ThrottleKeys,
  admission: Extract<Admission, { admitted: true }>,
  now: Date = new Date(),
): Promise<void> {
  await db().transaction(async (tx) => {
    await lockRows(tx, keys);
    await tx.delete(authThrottle).where(sql`${authThrottle.key} = ${keys.pair}`);
    if (keys.account) await tx.delete(authThrottle).where(sql`${authThrottle.key} = ${keys.account}`);
    if (keys.address) {
      await tx
        .update(authThrottle)
        .set({
          failures: sql`greatest(${authThrottle.failures} - 1, 0)`,
          lastFailureAt: sql`case when ${authThrottle.lastFailureAt} = ${now.toISOString()}::timestamptz
            then ${admission.addressFailureBefore?.toISOString() ?? null}::timestamptz
            else ${authThrottle.lastFailureAt} end`,
          updatedAt: now,
        })
        .where(sql`${authThrottle.key} = ${keys.address}`);
    }
  });
}

/** Deletes rows of keys quiet for longer than the reset period (cheap: an index on updated_at). */
export async function pruneThrottle(now: Date = new Date()): Promise<void> {
  const before = new Date(now.getTime() - Math.max(THROTTLE.resetAfterMs, THROTTLE.auditWindowMs));
  await db().delete(authThrottle).where(lt(authThrottle.updatedAt, before));
}
