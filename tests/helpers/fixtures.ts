import { asc, eq, gt, sql } from "drizzle-orm";
import { expect } from "vitest";
import { db } from "@/lib/runtime";
import { apiKeys, auditLog, users, type ApiKey, type AuditRow, type Role, type User } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";

let counter = 0;

/**
 * Inserts a user directly (the password hash is a placeholder: these users never sign in) and
 * returns them as an actor, as if just signed in.
 */
export async function makeUser(role: Role, overrides: { email?: string; name?: string } = {}): Promise<Actor> {
  counter += 1;
  const email = overrides.email ?? `${role}-${counter}-${Date.now()}@example.test`;
  const name = overrides.name ?? `${role} user ${counter}`;
  const [user] = await db().insert(users).values({ email, name, role, passwordHash: "x" }).returning();
  // Signed in just now: within Confirm it's you's window (lib/auth/authorize.ts).
  return { userId: user!.id, email: user!.email, name: user!.name, role: user!.role, ip: "127.0.0.1", confirmedAt: new Date() };
}

export async function countRows(table: string): Promise<number> {
  const rows = await db().execute<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
  return rows[0]!.n;
}

/** Starts a browser session for `actor` (as signing in does) and returns the actor carrying it. */
export async function withSession(actor: Actor, userAgent: string | null = null, now?: Date): Promise<Actor & { sessionId: string }> {
  const { createSession } = await import("@/lib/auth/sessions");
  const sessionId = await createSession(actor.userId, { ip: actor.ip, userAgent }, now);
  return { ...actor, sessionId, confirmedAt: now ?? new Date() };
}

/** The tables a refused call must leave exactly as they were (the audit log is followed by its ids). */
const WATCHED_TABLES = ["users", "invites", "sessions", "api_keys"] as const;
export type WatchedTable = (typeof WATCHED_TABLES)[number];
type Rows = Record<WatchedTable, Record<string, unknown>>;

/** Every row of the watched tables, by id, and the newest audit row's id: what a call may change. */
export interface DbSnapshot {
  rows: Rows;
  auditMark: number;
}

async function watchedRows(): Promise<Rows> {
  const rows = {} as Rows;
  for (const table of WATCHED_TABLES) {
    const found = await db().execute<{ id: string }>(sql.raw(`select * from ${table} order by id`));
    rows[table] = Object.fromEntries(found.map((row) => [row.id, row]));
  }
  return rows;
}

export async function snapshot(): Promise<DbSnapshot> {
  const [mark] = await db()
    .select({ id: sql<number>`coalesce(max(${auditLog.id}), 0)::int` })
    .from(auditLog);
  return { rows: await watchedRows(), auditMark: mark!.id };
}

/** The audit rows written since `snapshot` was taken, oldest first. */
export async function auditSince(before: DbSnapshot): Promise<AuditRow[]> {
  return db().select().from(auditLog).where(gt(auditLog.id, before.auditMark)).orderBy(asc(auditLog.id));
}

/** For refused and malformed calls: no row of any watched table changed, and nothing was audited. */
export async function expectUnchanged(before: DbSnapshot): Promise<void> {
  expect(await watchedRows()).toEqual(before.rows);
  expect(await auditSince(before)).toEqual([]);
}

/**
 * For allowed calls: every row is as it was except those listed (which may have changed, appeared
 * or gone; the caller checks how, and the audit rows with auditSince). Catches a change that
 * reached rows it should not have.
 */
export async function expectOnlyChanged(before: DbSnapshot, changed: Partial<Record<WatchedTable, string[]>>): Promise<void> {
  const after = await watchedRows();
  for (const table of WATCHED_TABLES) {
    const skip = new Set(changed[table] ?? []);
    const keep = (rows: Record<string, unknown>) => Object.fromEntries(Object.entries(rows).filter(([id]) => !skip.has(id)));
    expect(keep(after[table]), `rows of ${table} other than ${[...skip].join(", ") || "none"}`).toEqual(keep(before.rows[table]));
  }
}

/** One API key's row as the database holds it now (undefined once deleted). */
export async function keyRow(id: string): Promise<ApiKey | undefined> {
  const [row] = await db().select().from(apiKeys).where(eq(apiKeys.id, id));
  return row;
}

/** One user's row as the database holds it now (undefined once removed). */
export async function userRow(id: string): Promise<User | undefined> {
  const [row] = await db().select().from(users).where(eq(users.id, id));
  return row;
}
