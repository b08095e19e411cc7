import "server-only";
import { getServerSession } from "next-auth";
import { headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { can, type Permission } from "@/lib/auth/permissions";
import { clientIpFrom } from "@/lib/auth/client-ip";
import type { Actor } from "./actor";
import { authOptions } from "./options";
import { findActiveSession } from "./sessions";

/**
 * The signed-in person for this request (once per render): the cookie names a session, and the
 * session row, joined to its user, decides. A signed-out, expired or ended session, a removed
 * user or a role change takes effect on the next request.
 */
export const getActor = cache(async (): Promise<Actor | null> => {
  const session = await getServerSession(authOptions());
  const sid = (session?.user as { sid?: unknown } | undefined)?.sid;
  if (typeof sid !== "string") return null;
  const user = await findActiveSession(sid);
  if (!user) return null;
  const ip = clientIpFrom(await headers());
  return {
    userId: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    ip,
    sessionId: user.sessionId,
    confirmedAt: user.confirmedAt,
  };
});

/** For pages: the actor, or a redirect to sign in. */
export async function requireActor(): Promise<Actor> {
  const actor = await getActor();
  if (!actor) redirect("/sign-in");
  return actor;
}

/** For admin pages: anyone without the permission gets the 404 page, as if it did not exist. */
export async function requirePermission(permission: Permission): Promise<Actor> {
  const actor = await requireActor();
  if (!can(actor.role, permission)) notFound();
  return actor;
}

export async function requestIp(): Promise<string | null> {
  return clientIpFrom(await headers());
}
