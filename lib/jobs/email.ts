import { and, eq, sql } from "drizzle-orm";
import type { Database, Tx } from "@/db/client";
import { notifications } from "@/db/schema";
import { logError } from "@/lib/log";
import type { Mailer } from "@/lib/mail/mailer";
import { notificationEmail } from "@/lib/mail/notification-email";
import type { Job, JobSummary } from "./runner";

/** A claim not marked sent by then is taken again (its instance died or the send failed). */
export const EMAIL_CLAIM_TIMEOUT_MS = 10 * 60 * 1000;
/** Notices older than this are not emailed (e.g. when SMTP_URL is set on an old installation). */
export const EMAIL_MAX_AGE_MS = 3 * 24 * 60 * 60 * 1000;
export const EMAIL_BATCH = 50;

type Claimed = {
  id: string;
  kind: string;
  key_name: string | null;
  data: Record<string, unknown>;
  email: string;
  name: string;
  claimed_at: string;
};

/**
 * Emails each notification once: a run claims a batch of unsent notices in one UPDATE ...
 * RETURNING (email_claimed_at), which no other instance can claim too, then, after the commit and
 * outside the lock, sends them and marks each sent (emailed_at). A claim that was never marked
 * sent is taken again after EMAIL_CLAIM_TIMEOUT_MS.
 */
export function emailJob(mailer: Mailer, options: { appUrl?: string } = {}): Job<Claimed[]> {
  return {
    name: "notification-email",
    async run(tx: Tx, now: Date) {
      const nowAt = sql`${now.toISOString()}::timestamptz`;
      const claimed = await tx.execute<Claimed>(sql`
        update notifications n set email_claimed_at = ${nowAt}
        from users u
        where u.id = n.user_id and n.id in (
          select id from notifications
          where emailed_at is null
            and (email_claimed_at is null
              or email_claimed_at < ${new Date(now.getTime() - EMAIL_CLAIM_TIMEOUT_MS).toISOString()}::timestamptz)
            and created_at > ${new Date(now.getTime() - EMAIL_MAX_AGE_MS).toISOString()}::timestamptz
          order by created_at
          limit ${EMAIL_BATCH}
          for update skip locked)
        returning n.id, n.kind, n.key_name, n.data, u.email, u.name, n.email_claimed_at::text as claimed_at`);
      return { summary: { claimed: claimed.length }, later: [...claimed] };
    },
    async afterCommit(claimed: Claimed[], database: Database): Promise<JobSummary> {
      let sent = 0;
      let failed = 0;
      for (const notice of claimed) {
        try {
          await mailer.send(notificationEmail({ kind: notice.kind, keyName: notice.key_name, data: notice.data }, notice, options.appUrl));
        } catch (error) {
          failed++;
          logError("could not email a notification (it is tried again later)", error);
          continue;
        }
        sent++;
        await database
          .update(notifications)
          .set({ emailedAt: new Date() })
          .where(and(eq(notifications.id, notice.id), sql`${notifications.emailClaimedAt} = ${notice.claimed_at}::timestamptz`));
      }
      return { sent, failed };
    },
  };
}
