import "server-only";
import { and, desc, gt, isNull, sql } from "drizzle-orm";
import { invites, users, type Role, type User } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { db } from "@/lib/runtime";
import { createUserFromInvite } from "@/lib/users/service";
import { ssoIdentitySchema } from "@/lib/validation/sso";
import { NO_PASSWORD_HASH } from "./password";
import { createSession, twoFactorEnabled, type SessionClient } from "./sessions";

/**
 * Single sign-on with OpenID Connect (SPEC §12). next-auth runs the protocol (discovery, PKCE,
 * state and nonce, the token request, the ID token's signature, issuer and audience); this decides
 * who the verified answer signs in: the person with that (verified) email, or a pending invite for
 * it, which becomes their account; anyone else only when OIDC_DEFAULT_ROLE is set. Every refusal
 * is audited as auth.sso_refused and reaches /sign-in as an error code (ssoErrorMessage).
 */

/** Why single sign-on refused someone; the /sign-in?error= code is `Sso_<reason>`. */
export const SSO_REFUSALS = ["invalid_answer", "unverified_email", "no_account", "provider_error"] as const;
export type SsoRefusal = (typeof SSO_REFUSALS)[number];

export type SsoOutcome =
  { ok: true; sessionId: string; userId: string; created: "invite" | "default_role" | null } | { ok: false; reason: SsoRefusal };

/** Who is signing in (and the session their browser had, which the new one replaces). */
export type SsoClient = SessionClient;

/** Audits a refused single sign-on: the reason, and what the provider said (never a token). */
export async function recordSsoRefusal(reason: SsoRefusal, client: { ip: string | null }, detail: Record<string, unknown> = {}) {
  const email = typeof detail.email === "string" ? detail.email : null;
  await recordAudit(
    db(),
    { ip: client.ip, label: email ?? "single sign-on" },
    { action: "auth.sso_refused", targetType: "user", targetLabel: email, metadata: { reason, ...detail } },
  );
}

const localPart = (address: string) => address.slice(0, address.indexOf("@")).slice(0, 100) || address.slice(0, 100);

/** The person this verified email signs in, making their account from an invite or the default role. */
async function findOrCreatePerson(
  address: string,
  name: string | undefined,
  defaultRole: Exclude<Role, "owner"> | null,
  client: SsoClient,
): Promise<{ user: User; created: "invite" | "default_role" | null } | null> {
  return db().transaction(async (tx) => {
    // One sign-on at a time per address: two first sign-ins of one invite make one account.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`latchkey.sso:${address}`}))`);
    const [existing] = await tx
      .select()
      .from(users)
      .where(sql`lower(${users.email}) = ${address}`)
      .limit(1);
    // A service account never signs in (its address is an internal one anyway).
    if (existing) return existing.kind === "person" ? { user: existing, created: null } : null;

    const [invite] = await tx
      .select()
      .from(invites)
      .where(and(sql`lower(${invites.email}) = ${address}`, isNull(invites.acceptedAt), gt(invites.expiresAt, new Date())))
      .orderBy(desc(invites.createdAt))
      .for("update")
      .limit(1);
    const account = { name: name ?? localPart(address), passwordHash: NO_PASSWORD_HASH };
    if (invite) return { user: await createUserFromInvite(tx, invite, account, client.ip, "sso"), created: "invite" as const };
    if (!defaultRole) return null;

    const [user] = await tx
      .insert(users)
      .values({ email: address, ...account, role: defaultRole })
      .returning();
    if (!user) throw new Error("insert returned no row");
    await recordAudit(
      tx,
      { ip: client.ip, label: user.email },
      { action: "user.sso_created", targetType: "user", targetId: user.id, targetLabel: user.email, metadata: { role: user.role } },
    );
    return { user, created: "default_role" as const };
  });
}

/**
 * Signs in the person a verified OpenID Connect answer names (the ID token's claims), starting a
 * session for them (which waits for their code when they have two-factor authentication), or
 * says why not. Audited either way.
 */
export async function signInWithSso(claims: unknown, defaultRole: Exclude<Role, "owner"> | null, client: SsoClient): Promise<SsoOutcome> {
  const parsed = ssoIdentitySchema.safeParse(claims);
  if (!parsed.success || !parsed.data.email) {
    await recordSsoRefusal("invalid_answer", client, { problem: parsed.success ? "no email claim" : "claims did not validate" });
    return { ok: false, reason: "invalid_answer" };
  }
  const { email: address, email_verified: verified, name, sub } = parsed.data;
  if (verified !== true) {
    await recordSsoRefusal("unverified_email", client, { email: address, subject: sub });
    return { ok: false, reason: "unverified_email" };
  }
  const found = await findOrCreatePerson(address, name, defaultRole, client);
  if (!found) {
    await recordSsoRefusal("no_account", client, { email: address, subject: sub });
    return { ok: false, reason: "no_account" };
  }
  const { user, created } = found;
  const sessionId = await createSession(user.id, client);
  const pending = await twoFactorEnabled(user.id);
  await recordAudit(
    db(),
    { ip: client.ip, label: user.email },
    {
      action: "auth.sign_in",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      metadata: { method: "sso", subject: sub, ...(pending ? { second_factor: "pending" } : {}) },
    },
  );
  return { ok: true, sessionId, userId: user.id, created };
}
