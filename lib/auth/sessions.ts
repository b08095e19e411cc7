import "server-only";
import { and, asc, eq, gt, isNotNull, lt, ne, sql } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { db } from "@/lib/runtime";
import { isUuid } from "@/db/sql";
import { organisationSettings, sessions, users, userTwoFactor, type Role, type TwoFactorPolicy } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { notFound } from "@/lib/errors";
import type { Actor } from "./actor";
import { authorize } from "./authorize";
import { deviceName, USER_AGENT_MAX_LENGTH } from "./device";
import { hasPassword } from "./password";
import { mustSetUpTwoFactor } from "./two-factor-policy";

/**
 * Server-side sessions. The browser's (signed, encrypted) next-auth cookie carries only a session
 * id; this table is the authority: a request is signed in only while its row exists and has not
 * expired. Signing out, "Sign out other sessions", "Sign out everywhere" and removing a user
 * delete rows, and the cookie is refused on its next request.
 */

export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;
/**
 * SPEC §12: a sign-in of a person with two-factor authentication waits this long for the code;
 * after that the session is dead and the person signs in again.
 */
export const SECOND_FACTOR_MAX_AGE_MS = 10 * 60 * 1000;
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
  /** Two-factor authentication is on (SPEC §12). */
  twoFactor: boolean;
  /** The account has a password (single sign-on makes accounts without one). */
  hasPassword: boolean;
  /** The organisation's policy covers this person and they have not set two-factor authentication up. */
  mustSetUpTwoFactor: boolean;
}

/** Whether the user has two-factor authentication on (set up and confirmed with a code). */
export async function twoFactorEnabled(userId: string): Promise<boolean> {
  const [row] = await db()
    .select({ userId: userTwoFactor.userId })
    .from(userTwoFactor)
    .where(and(eq(userTwoFactor.userId, userId), isNotNull(userTwoFactor.enabledAt)))
    .limit(1);
  return Boolean(row);
}

/**
 * Starts a session for a user who just proved who they are (password or single sign-on); prunes
 * expired sessions on the way. With two-factor authentication on, the session starts pending
 * (second_factor_pending) for SECOND_FACTOR_MAX_AGE_MS: it signs nothing in until the code is
 * given (lib/auth/two-factor.ts passSecondFactor), and dies if it never is.
 */
export async function createSession(userId: string, client: SessionClient, now: Date = new Date()): Promise<string> {
  await db().delete(sessions).where(lt(sessions.expiresAt, now));
  const pending = await twoFactorEnabled(userId);
  return db().transaction(async (tx) => {
    // Signing in again from a browser that is signed in replaces its session: the cookie will
    // name the new one, and the old row must not live on unseen (as a Sessions entry, or for a
    // copy of the old cookie).
    if (client.replaces && isUuid(client.replaces)) await endSessionInTx(tx, client.replaces, client.ip, "signed_in_again");
    const [row] = await tx
      .insert(sessions)
      .values({
        userId,
        createdAt: now,
        lastActiveAt: now,
        // Signing in is the first confirmation: Confirm it's you asks nothing for 15 minutes.
        confirmedAt: now,
        secondFactorPending: pending,
        expiresAt: new Date(now.getTime() + (pending ? SECOND_FACTOR_MAX_AGE_MS : SESSION_MAX_AGE_MS)),
        ip: client.ip,
        userAgent: client.userAgent?.slice(0, USER_AGENT_MAX_LENGTH) || null,
      })
      .returning({ id: sessions.id });
    if (!row) throw new Error("insert returned no row");
    return row.id;
  });
}

/** Who is signing in: their address and browser, and the session this browser's cookie named until now (if any). */
export interface SessionClient {
  ip: string | null;
  userAgent: string | null;
  /** The session id of the browser's current cookie: it ends when the new one begins. */
  replaces?: string | null;
}

/**
 * Ends a session (whoever's it is), audited as a sign-out: Sign out, or (`reason`) a new sign-in
 * in the same browser that replaces it.
 */
async function endSessionInTx(tx: Tx, sessionId: string, ip: string | null, reason?: "signed_in_again"): Promise<void> {
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
      metadata: { device: deviceName(ended.userAgent), ...(reason ? { reason } : {}) },
    },
  );
}

/**
 * The session and its user, while the session exists, has not expired and is not waiting for a
 * two-factor code (one indexed query, with the person's two-factor state and the organisation's
 * policy); marks it active at most once a minute.
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
      kind: users.kind,
      passwordHash: users.passwordHash,
      twoFactorEnabledAt: userTwoFactor.enabledAt,
      policy: sql<TwoFactorPolicy | null>`(
        select ${organisationSettings.requireTwoFactor} from ${organisationSettings} where ${organisationSettings.id} = 1
      )`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(userTwoFactor, eq(userTwoFactor.userId, users.id))
    .where(and(eq(sessions.id, sessionId), gt(sessions.expiresAt, now), eq(sessions.secondFactorPending, false)))
    .limit(1);
  if (!row) return null;
  if (now.getTime() - row.lastActiveAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    await db().update(sessions).set({ lastActiveAt: now }).where(eq(sessions.id, sessionId));
  }
  const twoFactor = row.twoFactorEnabledAt !== null;
  return {
    sessionId: row.sessionId,
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    confirmedAt: row.confirmedAt,
    twoFactor,
    hasPassword: hasPassword(row.passwordHash),
    mustSetUpTwoFactor: mustSetUpTwoFactor(row.policy ?? "off", row.role, twoFactor, row.kind),
  };
}

/** A sign-in waiting for its two-factor code (SPEC §12's second step). */
export interface PendingSignIn {
  sessionId: string;
  userId: string;
  email: string;
  name: string;
  role: Role;
}

/** The session named, if it is a sign-in still waiting for its code (and not past its 10 minutes). */
export async function findPendingSession(sessionId: string, now: Date = new Date()): Promise<PendingSignIn | null> {
  if (!isUuid(sessionId)) return null;
  const [row] = await db()
    .select({ sessionId: sessions.id, userId: users.id, email: users.email, name: users.name, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.id, sessionId), gt(sessions.expiresAt, now), eq(sessions.secondFactorPending, true)))
    .limit(1);
  return row ?? null;
}

/** Sign out: ends the session the cookie names, audited. Unknown or ended sessions are a no-op. */
export async function endSessionOnSignOut(sessionId: string, ip: string | null): Promise<void> {
  if (!isUuid(sessionId)) return;
  await db().transaction((tx) => endSessionInTx(tx, sessionId, ip));
}

export interface SessionDto {
  id: string;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastActiveAt: Date;
  current: boolean;
}

function requireBrowserSession(actor: Actor, beforeTwoFactorSetUp = false): void {
  authorize(actor, null, { browserOnly: "Sessions are only managed in the browser.", beforeTwoFactorSetUp });
}

/** The actor's own sessions that have not expired, newest first, this one marked. */
export async function listOwnSessions(actor: Actor, now: Date = new Date()): Promise<SessionDto[]> {
  requireBrowserSession(actor);
  const rows = await db()
    .select()
    .from(sessions)
    // A sign-in still waiting for its two-factor code is not a session yet.
    .where(and(eq(sessions.userId, actor.userId), gt(sessions.expiresAt, now), eq(sessions.secondFactorPending, false)))
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
  // Signing a session out is always allowed, even to someone the two-factor policy holds back.
  requireBrowserSession(actor, true);
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
