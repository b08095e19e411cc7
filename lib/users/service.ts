import { createHmac, randomBytes } from "node:crypto";
import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import { db } from "@/lib/runtime";
import type { Tx } from "@/db/client";
import { invites, users, type Invite, type Role, type User, type UserKind } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor, Anonymous } from "@/lib/auth/actor";
import { USERS_IN_BROWSER } from "./messages";
import { authorize } from "@/lib/auth/authorize";
import { burnPasswordCheck, hashPassword, verifyPassword } from "@/lib/auth/password";
import { twoFactorEnabled } from "@/lib/auth/sessions";
import { admitAttempt, pruneThrottle, recordSuccess, retryIn, throttleKeys } from "@/lib/auth/throttle";
import { keyring } from "@/lib/runtime";
import { conflict, forbidden, invalid, rateLimited } from "@/lib/errors";
import type { AcceptInviteInput, InviteInput, SetupInput, SignInInput } from "@/lib/validation/users";

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface UserDto {
  id: string;
  email: string;
  name: string;
  role: Role;
  kind: UserKind;
  createdAt: Date;
}

const toDto = (u: User): UserDto => ({ id: u.id, email: u.email, name: u.name, role: u.role, kind: u.kind, createdAt: u.createdAt });

export async function hasAnyUser(): Promise<boolean> {
  const [row] = await db().select({ id: users.id }).from(users).limit(1);
  return Boolean(row);
}

/** First run: creates the Owner. Refused once any user exists. */
export async function createOwner(input: SetupInput, who: Anonymous): Promise<UserDto> {
  const passwordHash = await hashPassword(input.password);
  return db().transaction(async (tx) => {
    // Serialise concurrent first-run attempts: only the first one sees an empty table.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('latchkey.setup'))`);
    const [existing] = await tx.select({ id: users.id }).from(users).limit(1);
    if (existing) throw conflict("Setup is already complete. Sign in instead.");
    const [owner] = await tx.insert(users).values({ email: input.email, name: input.name, passwordHash, role: "owner" }).returning();
    if (!owner) throw new Error("insert returned no row");
    await recordAudit(
      tx,
      { ...who, label: input.email },
      {
        action: "setup.owner_created",
        targetType: "user",
        targetId: owner.id,
        targetLabel: owner.email,
      },
    );
    return toDto(owner);
  });
}

export interface SignInResult {
  user: UserDto;
}

/**
 * Checks an email and password, slowed down per (email, address) and per address by
 * lib/auth/throttle.ts. Every checked password is audited; an attempt the throttle refuses is
 * answered "rate limited" without checking the password, and audited once per window.
 */
export async function verifyCredentials(input: SignInInput, ip: string | null, now: Date = new Date()): Promise<SignInResult | null> {
  const who = { ip, label: input.email };
  const keys = throttleKeys("sign_in", input.email, ip);
  const admission = await admitAttempt(keys, now, async (tx, refusal) => {
    if (!refusal.audit) return;
    await recordAudit(tx, who, {
      action: "auth.sign_in_rate_limited",
      targetType: "user",
      targetLabel: input.email,
      metadata: { limited_by: refusal.limitedBy, retry_after_seconds: refusal.retryAfterSeconds },
    });
  });
  if (!admission.admitted) {
    throw rateLimited(`Too many failed sign-ins. ${retryIn(admission.retryAfterSeconds)}`, admission.retryAfterSeconds);
  }

  const [user] = await db()
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${input.email}`)
    .limit(1);
  // Only a person signs in: a service account is refused whatever is typed (its hash is of random
  // bytes anyway), with the same work done as for an unknown email.
  const person = user?.kind === "person" ? user : undefined;
  const ok = person ? await verifyPassword(person.passwordHash, input.password) : (await burnPasswordCheck(input.password), false);
  if (!user || !person || !ok) {
    await recordAudit(db(), who, { action: "auth.sign_in_failed", targetType: "user", targetId: user?.id, targetLabel: input.email });
    return null;
  }
  await recordSuccess(keys, admission, now);
  await pruneThrottle(now);
  // With two-factor authentication the session starts waiting for a code (lib/auth/sessions.ts):
  // the row says so, and "auth.two_factor_passed" follows once the code is right.
  await recordAudit(
    db(),
    { ...who, label: user.email },
    {
      action: "auth.sign_in",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      ...((await twoFactorEnabled(user.id)) ? { metadata: { second_factor: "pending" } } : {}),
    },
  );
  return { user: toDto(user) };
}

export interface UserListItem extends UserDto {
  keyCount: number;
}

export async function listUsers(actor: Actor): Promise<UserListItem[]> {
  authorize(actor, "users.manage", { browserOnly: USERS_IN_BROWSER });
  const rows = await db()
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      kind: users.kind,
      createdAt: users.createdAt,
      // Spelled out: inside a select list drizzle leaves columns unqualified, and an unqualified
      // "id" in the subquery would be the key's own id (every count was 0).
      keyCount: sql<number>`(select count(*)::int from api_keys k where k.user_id = "users"."id")`,
    })
    .from(users)
    .orderBy(users.createdAt);
  return rows;
}

export interface PendingInvite {
  id: string;
  email: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date;
}

export async function listPendingInvites(actor: Actor): Promise<PendingInvite[]> {
  authorize(actor, "users.manage", { browserOnly: USERS_IN_BROWSER });
  return db()
    .select({ id: invites.id, email: invites.email, role: invites.role, createdAt: invites.createdAt, expiresAt: invites.expiresAt })
    .from(invites)
    .where(and(isNull(invites.acceptedAt), gt(invites.expiresAt, new Date())))
    .orderBy(desc(invites.createdAt));
}

function inviteDigest(token: string): string {
  return createHmac("sha256", keyring().derive("invite")).update(token).digest("hex");
}

/** Creates a one-time invite; the token is returned once and only its digest is stored. */
export async function createInvite(actor: Actor, input: InviteInput): Promise<{ token: string; expiresAt: Date }> {
  authorize(actor, "users.manage", { browserOnly: USERS_IN_BROWSER, recent: true });
  if ((input.role as Role) === "owner") throw forbidden("Nobody can be invited as Owner.");
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + INVITE_TTL_MS);
  await db().transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: users.id })
      .from(users)
      .where(sql`lower(${users.email}) = ${input.email}`)
      .limit(1);
    if (existing) throw conflict("A user with this email already exists.", "email");
    const [invite] = await tx
      .insert(invites)
      .values({ tokenDigest: inviteDigest(token), email: input.email, role: input.role, invitedBy: actor.userId, expiresAt })
      .returning({ id: invites.id });
    await recordAudit(tx, actor, {
      action: "user.invited",
      targetType: "invite",
      targetId: invite?.id,
      targetLabel: input.email,
      metadata: { role: input.role },
    });
  });
  return { token, expiresAt };
}

export type InviteLookup = { status: "valid"; email: string; role: Role; expiresAt: Date } | { status: "expired" | "used" | "unknown" };

export async function lookupInvite(token: string): Promise<InviteLookup> {
  if (!token || token.length > 200) return { status: "unknown" };
  const [invite] = await db()
    .select()
    .from(invites)
    .where(eq(invites.tokenDigest, inviteDigest(token)))
    .limit(1);
  if (!invite) return { status: "unknown" };
  if (invite.acceptedAt) return { status: "used" };
  if (invite.expiresAt.getTime() <= Date.now()) return { status: "expired" };
  return { status: "valid", email: invite.email, role: invite.role, expiresAt: invite.expiresAt };
}

const INVITE_PROBLEMS = {
  unknown: "This invite link is not valid. Ask an admin for a new one.",
  used: "This invite link has already been used. Sign in instead.",
  expired: "This invite link has expired. Ask an admin for a new one.",
} as const;

export function inviteProblem(status: keyof typeof INVITE_PROBLEMS): string {
  return INVITE_PROBLEMS[status];
}

/** Turns a valid invite into an account, once. */
export async function acceptInvite(input: AcceptInviteInput, ip: string | null): Promise<UserDto> {
  const passwordHash = await hashPassword(input.password);
  return db().transaction(async (tx) => {
    const [invite] = await tx
      .select()
      .from(invites)
      .where(eq(invites.tokenDigest, inviteDigest(input.token)))
      .for("update")
      .limit(1);
    if (!invite) throw invalid(INVITE_PROBLEMS.unknown);
    if (invite.acceptedAt) throw invalid(INVITE_PROBLEMS.used);
    if (invite.expiresAt.getTime() <= Date.now()) throw invalid(INVITE_PROBLEMS.expired);
    return toDto(await createUserFromInvite(tx, invite, { name: input.name, passwordHash }, ip, "link"));
  });
}

/**
 * Inside `tx`, with the invite row locked and known to be pending: makes its account (the
 * invite's email and role), marks the invite used and audits user.invite_accepted. `via` says
 * whether the link or single sign-on accepted it.
 */
export async function createUserFromInvite(
  tx: Tx,
  invite: Invite,
  account: { name: string; passwordHash: string },
  ip: string | null,
  via: "link" | "sso",
): Promise<User> {
  const [taken] = await tx
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.email}) = ${invite.email}`)
    .limit(1);
  if (taken) throw conflict("An account with this email already exists. Sign in instead.");
  const [user] = await tx
    .insert(users)
    .values({ email: invite.email, name: account.name, passwordHash: account.passwordHash, role: invite.role })
    .returning();
  if (!user) throw new Error("insert returned no row");
  await tx.update(invites).set({ acceptedAt: new Date(), acceptedUserId: user.id }).where(eq(invites.id, invite.id));
  await recordAudit(
    tx,
    { ip, label: user.email },
    {
      action: "user.invite_accepted",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      metadata: via === "sso" ? { role: user.role, via } : { role: user.role },
    },
  );
  return user;
}
