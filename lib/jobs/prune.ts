import { and, isNotNull, lt, lte, sql } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { apiKeys, authThrottle, notifications, sessions } from "@/db/schema";
import type { Job } from "./runner";

/**
 * Sign-in throttle rows quiet this long are pruned: the longest of lib/auth/throttle.ts's reset
 * period and audit window (15 minutes each; a test holds the two files to it). Not imported:
 * that module is for Next.js's server only.
 */
export const THROTTLE_QUIET_MS = 15 * 60 * 1000;
/** Read notices are kept this long. */
export const READ_NOTIFICATION_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

/**
 * Removes what has stopped meaning anything: previous secrets past their grace period (they are
 * already refused; this drops their digests), expired sessions, throttle rows of quiet keys, and
 * notices read more than 90 days ago. Each step is a plain delete or update by time, so a
 * second run finds nothing to do.
 */
export const pruneJob: Job = {
  name: "prune",
  async run(tx: Tx, now: Date) {
    const secrets = await tx
      .update(apiKeys)
      .set({ previousDigest: null, previousExpiresAt: null })
      // previous_digest is not null: the partial index on it holds exactly these rows.
      .where(and(isNotNull(apiKeys.previousDigest), lte(apiKeys.previousExpiresAt, now)))
      .returning({ id: apiKeys.id });
    const ended = await tx.delete(sessions).where(lt(sessions.expiresAt, now)).returning({ id: sessions.id });
    const quiet = await tx
      .delete(authThrottle)
      .where(lt(authThrottle.updatedAt, new Date(now.getTime() - THROTTLE_QUIET_MS)))
      .returning({ key: sql`1` });
    const read = await tx
      .delete(notifications)
      .where(lt(notifications.readAt, new Date(now.getTime() - READ_NOTIFICATION_RETENTION_MS)))
      .returning({ id: notifications.id });
    return {
      summary: { previous_secrets: secrets.length, sessions: ended.length, throttle_rows: quiet.length, read_notifications: read.length },
    };
  },
};
