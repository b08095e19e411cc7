import "server-only";
import { and, count, desc, eq, isNull } from "drizzle-orm";
import { isUuid } from "@/db/sql";
import { notifications } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { notFound } from "@/lib/errors";
import { db } from "@/lib/runtime";
import { describeNotification } from "./wording";

/** A notice as the header's list shows it: worded, never the raw data. */
export interface NotificationDto {
  id: string;
  kind: string;
  title: string;
  body: string;
  keyName: string | null;
  createdAt: Date;
  readAt: Date | null;
}

export interface NotificationList {
  entries: NotificationDto[];
  /** Unread notices in all (the list shows only the newest). */
  unread: number;
}

export const NOTIFICATION_NOT_FOUND = "Notification not found.";
const BROWSER_ONLY = "Notifications are only shown in the browser.";

/** Notices are a person's own, read in the browser: refused through an API key. */
const readOwn = (actor: Actor) => authorize(actor, null, { browserOnly: BROWSER_ONLY });

/** The newest of the actor's own notices (and how many are unread); never anyone else's. */
export async function listOwnNotifications(actor: Actor, options: { limit?: number } = {}): Promise<NotificationList> {
  readOwn(actor);
  const limit = Math.min(Math.max(options.limit ?? 20, 1), 100);
  const rows = await db()
    .select({
      id: notifications.id,
      kind: notifications.kind,
      keyName: notifications.keyName,
      data: notifications.data,
      createdAt: notifications.createdAt,
      readAt: notifications.readAt,
    })
    .from(notifications)
    .where(eq(notifications.userId, actor.userId))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(limit);
  return {
    entries: rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      keyName: row.keyName,
      createdAt: row.createdAt,
      readAt: row.readAt,
      ...describeNotification(row),
    })),
    unread: await countUnreadNotifications(actor),
  };
}

export async function countUnreadNotifications(actor: Actor): Promise<number> {
  readOwn(actor);
  const [row] = await db()
    .select({ n: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, actor.userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}

/** Marks one of the actor's own notices read (again: a no-op). Another person's is "not found". */
export async function markNotificationRead(actor: Actor, id: string): Promise<void> {
  readOwn(actor);
  if (!isUuid(id)) throw notFound(NOTIFICATION_NOT_FOUND);
  const [row] = await db()
    .select({ readAt: notifications.readAt })
    .from(notifications)
    .where(and(eq(notifications.id, id), eq(notifications.userId, actor.userId)))
    .limit(1);
  if (!row) throw notFound(NOTIFICATION_NOT_FOUND);
  if (row.readAt) return;
  await db()
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(eq(notifications.id, id), eq(notifications.userId, actor.userId), isNull(notifications.readAt)));
}

/** Marks every unread notice of the actor's read; returns how many were. */
export async function markAllNotificationsRead(actor: Actor): Promise<number> {
  readOwn(actor);
  const updated = await db()
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(eq(notifications.userId, actor.userId), isNull(notifications.readAt)))
    .returning({ id: notifications.id });
  return updated.length;
}
