import { sql } from "drizzle-orm";
import { db } from "@/lib/runtime";
import { users, type Role } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";

let counter = 0;

/**
 * Inserts a user directly (the password hash is a placeholder: these users never sign in) and
 * returns them as an actor.
 */
export async function makeUser(role: Role, overrides: { email?: string; name?: string } = {}): Promise<Actor> {
  counter += 1;
  const email = overrides.email ?? `${role}-${counter}-${Date.now()}@example.test`;
  const name = overrides.name ?? `${role} user ${counter}`;
  const [user] = await db().insert(users).values({ email, name, role, passwordHash: "x" }).returning();
  return { userId: user!.id, email: user!.email, name: user!.name, role: user!.role, ip: "127.0.0.1" };
}

export async function countRows(table: string): Promise<number> {
  const rows = await db().execute<{ n: number }>(sql.raw(`select count(*)::int as n from ${table}`));
  return rows[0]!.n;
}

/** Starts a browser session for `actor` (as signing in does) and returns the actor carrying it. */
export async function withSession(actor: Actor, userAgent: string | null = null, now?: Date): Promise<Actor & { sessionId: string }> {
  const { createSession } = await import("@/lib/auth/sessions");
  const sessionId = await createSession(actor.userId, { ip: actor.ip, userAgent }, now);
  return { ...actor, sessionId };
}
