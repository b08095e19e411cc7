import "server-only";
import { getServerSession } from "next-auth";
import { headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { can, type Permission } from "@/lib/auth/permissions";
import { clientIpFrom } from "@/lib/auth/client-ip";
import type { Actor } from "./actor";
import { authOptions } from "./options";
import { findActiveSession, findPendingSession, type PendingSignIn } from "./sessions";

/** The second sign-in step (SPEC §12), and where a person the two-factor policy covers sets it up first. */
export const SECOND_STEP_PATH = "/sign-in/two-factor";
export const TWO_FACTOR_SET_UP_PATH = "/two-factor-required";

/** The session id the request's next-auth cookie names, if any. */
const cookieSessionId = cache(async (): Promise<string | null> => {
  const session = await getServerSession(authOptions());
  const sid = (session?.user as { sid?: unknown } | undefined)?.sid;
  return typeof sid === "string" ? sid : null;
});

/**
 * The signed-in person for this request (once per render): the cookie names a session, and the
 * session row, joined to its user, decides. A signed-out, expired or ended session, a removed
 * user or a role change takes effect on the next request.
 */
export const getActor = cache(async (): Promise<Actor | null> => {
  const sid = await cookieSessionId();
  if (!sid) return null;
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
    twoFactor: user.twoFactor,
    hasPassword: user.hasPassword,
    mustSetUpTwoFactor: user.mustSetUpTwoFactor,
  };
});

/** A sign-in of this browser that is waiting for its two-factor code, if there is one. */
export const getPendingSignIn = cache(async (): Promise<PendingSignIn | null> => {
  const sid = await cookieSessionId();
  return sid ? findPendingSession(sid) : null;
});

/**
 * For an actor without a fully signed-in session: the second step when the password was right but
 * the code is still to come, else sign in.
 */
export async function redirectToSignIn(): Promise<never> {
  redirect((await getPendingSignIn()) ? SECOND_STEP_PATH : "/sign-in");
}

/**
 * For the pages of signed-in people: the actor, or a redirect to sign in (or to its second step);
 * a person the two-factor policy covers who has not set it up goes to set it up first.
 */
export async function requireActor(): Promise<Actor> {
  const actor = await getActor();
  if (!actor) return redirectToSignIn();
  if (actor.mustSetUpTwoFactor) redirect(TWO_FACTOR_SET_UP_PATH);
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
