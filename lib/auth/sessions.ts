import "server-only";
import { and, asc, eq, gt, lt, ne } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { db } from "@/lib/runtime";
import { isUuid } from "@/db/sql";
import { sessions, users, type Role } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { notFound } from "@/lib/errors";
import type { Actor } from "./actor";
import { authorize } from "./authorize";
import { deviceName, USER_AGENT_MAX_LENGTH } from "./device";

/**
 * Server-side sessions. The browser's (signed, encrypted) next-auth cookie carries only a session
 * id; this table is the authority: a request is signed in only while its row exists and has not
 * expired. Signing out, "Sign out other sessions", "Sign out everywhere" and removing a user
 * delete rows, and the cookie is refused on its next request.
 */

export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
/** last_active_at is written at most this often per session (not on every request). */
export const SESSION_TOUCH_INTERVAL_MS = 60 * 1000;

export interface SessionUser {
  sessionId: string;
  id: string;
  email: string;
  name: string;
  role: Role;
  /** The session's last sign-in or confirmation. */
  confirmedAt: Date;
}

/** Starts a session for a user who just proved who they are; prunes expired sessions on the way. */
export async function createSession(
  userId: string,
  client: { ip: string | null; userAgent: string | null },
  now: Date = new Date(),
): Promise<string> {
  await db().delete(sessions).where(lt(sessions.expiresAt, now));
  const [row] = await db()
    .insert(sessions)
    .values({
      userId,
      createdAt: now,
      lastActiveAt: now,
      // Signing in is the first confirmation: Confirm it's you asks nothing for 15 minutes.
      confirmedAt: now,
      expiresAt: new Date(now.getTime() + SESSION_MAX_AGE_MS),
      ip: client.ip,
      userAgent: client.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) || null,
    })
    .returning({ id: sessions.id });
  if (!row) throw new Error("insert returned no row");
  return row.id;
}

/**
 * The session and its user, while the session exists and has not expired (one indexed query);
 * marks it active at most once a minute.
 */
export async function findActiveSession(sessionId: string, now: Date = new Date()): Promise<SessionUser | null> {
  if (!isUuid(sessionId)) return null;
  const [row] = await db()
    .select({
      sessionId: sessions.id,
      lastActiveAt: sessions.lastActiveAt,
      confirmedAt: sessions.confirmedAt,
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), gt(sessions.expiresAt, now)))
    .limit(1);
  if (!row) return null;
  if (now.getTime() - row.lastActiveAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    await db().update(sessions).set({ lastActiveAt: now }).where(eq(sessions.id, sessionId));
  }
  return { sessionId: row.sessionId, id: row.id, email: row.email, name: row.name, role: row.role, confirmedAt: row.confirmedAt };
}

/** Sign out: ends the session the cookie names, audited. Unknown or ended sessions are a no-op. */
export async function endSessionOnSignOut(sessionId: string, ip: string | null): Promise<void> {
  if (!isUuid(sessionId)) return;
  await db().transaction(async (tx) => {
    const [ended] = await tx.delete(sessions).where(eq(sessions.id, sessionId)).returning();
    if (!ended) return;
    const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, ended.userId)).limit(1);
    if (!user) return;
    await recordAudit(
      tx,
      { ip, label: user.email },
      {
        action: "auth.signed_out",
        targetType: "user",
        targetId: ended.userId,
        targetLabel: user.email,
        metadata: { device: deviceName(ended.userAgent) },
      },
    );
  });
}

export interface SessionDto {
  id: string;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastActiveAt: Date;
  current: boolean;
}

function requireBrowserSession(actor: Actor): void {
  authorize(actor, null, { browserOnly: "Sessions are only managed in the browser." });
}

/** The actor's own sessions that have not expired, newest first, this one marked. */
export async function listOwnSessions(actor: Actor, now: Date = new Date()): Promise<SessionDto[]> {
  requireBrowserSession(actor);
  const rows = await db()
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, actor.userId), gt(sessions.expiresAt, now)))
    .orderBy(asc(sessions.createdAt));
  return rows
    .map((s) => ({
      id: s.id,
      device: deviceName(s.userAgent),
      ip: s.ip,
      createdAt: s.createdAt,
      lastActiveAt: s.lastActiveAt,
      current: s.id === actor.sessionId,
    }))
    .reverse();
}

/** Ends one of the actor's own sessions (only their own: anyone else's id is "not found"). */
export async function endOwnSession(actor: Actor, sessionId: string): Promise<{ current: boolean }> {
  requireBrowserSession(actor);
  if (!isUuid(sessionId)) throw notFound("Session not found.");
  return db().transaction(async (tx) => {
    const [ended] = await tx
      .delete(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, actor.userId)))
      .returning();
    if (!ended) throw notFound("Session not found. It may have ended already.");
    await recordAudit(tx, actor, {
      action: "session.ended",
      targetType: "user",
      targetId: actor.userId,
      targetLabel: actor.email,
      metadata: { device: deviceName(ended.userAgent), ip: ended.ip, current: ended.id === actor.sessionId },
    });
    return { current: ended.id === actor.sessionId };
  });
}

/** Deletes every session of the actor but the one they are using, inside `tx`; returns how many. */
export async function deleteOtherSessions(tx: Tx, actor: Actor): Promise<number> {
  const ended = await tx
    .delete(sessions)
    .where(and(eq(sessions.userId, actor.userId), actor.sessionId ? ne(sessions.id, actor.sessionId) : undefined))
    .returning({ id: sessions.id });
  return ended.length;
}

/** Ends every session of the actor except the one they are using. Returns how many ended. */
export async function endOtherSessions(actor: Actor): Promise<number> {
  requireBrowserSession(actor);
  return db().transaction(async (tx) => {
    const ended = await deleteOtherSessions(tx, actor);
    await recordAudit(tx, actor, {
      action: "session.others_ended",
      targetType: "user",
      targetId: actor.userId,
      targetLabel: actor.email,
      metadata: { sessions: ended },
    });
    return ended;
  });
}
