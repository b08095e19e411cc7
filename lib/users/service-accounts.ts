import { randomBytes, randomUUID } from "node:crypto";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { isUuid } from "@/db/sql";
import { db } from "@/lib/runtime";
import { apiKeys, users, type AccessLevel, type Role } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hashPassword } from "@/lib/auth/password";
import { allowedAccessLevels } from "@/lib/auth/permissions";
import { conflict, forbidden, notFound } from "@/lib/errors";
import { announceKeyChange } from "@/lib/keys/revocation";
import { newSecretColumns } from "@/lib/keys/service";
import type { CreateServiceAccountInput } from "@/lib/validation/users";
import { SERVICE_ACCOUNT_ROLES } from "@/lib/validation/users";
import { USERS_IN_BROWSER } from "./messages";

/**
 * Service accounts (SPEC §12): users rows of kind "service_account" that hold keys for systems,
 * not people, so the keys outlive whoever set them up. They never sign in: sign-in refuses any
 * kind but "person", and their password hash is of random bytes nobody ever saw.
 */

/**
 * users.email is required and unique, so a service account gets an address no person can have:
 * ".invalid" is reserved (RFC 2606) and never delivers. It is never shown; the name is.
 */
export function serviceAccountEmail(id: string): string {
  return `service-account+${id}@latchkey.invalid`;
}

const SERVICE_ACCOUNT_NOT_FOUND = "Service account not found.";

export interface ServiceAccountDto {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
}

/** Whether a role may belong to a service account (Staff or Read-only). */
export function isServiceAccountRole(role: Role): boolean {
  return (SERVICE_ACCOUNT_ROLES as readonly Role[]).includes(role);
}

/** Users page: Add service account (Owners and Admins). */
export async function createServiceAccount(actor: Actor, input: CreateServiceAccountInput): Promise<ServiceAccountDto> {
  // A Users change: Confirm it's you (SPEC §12).
  authorize(actor, "users.manage", { browserOnly: USERS_IN_BROWSER, recent: true });
  const id = randomUUID();
  const passwordHash = await hashPassword(randomBytes(32).toString("base64url"));
  return db().transaction(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({ id, kind: "service_account", email: serviceAccountEmail(id), name: input.name, role: input.role, passwordHash })
      .returning({ id: users.id, name: users.name, role: users.role, createdAt: users.createdAt });
    if (!row) throw new Error("insert returned no row");
    await recordAudit(tx, actor, {
      action: "user.service_account_created",
      targetType: "user",
      targetId: row.id,
      targetLabel: row.name,
      metadata: { role: row.role },
    });
    return row;
  });
}

/** Every service account, oldest first: the Access Manager's choice of holder for a new key. */
export async function listServiceAccounts(actor: Actor): Promise<ServiceAccountDto[]> {
  authorize(actor, "keys.manageAll", { browserOnly: USERS_IN_BROWSER });
  return db()
    .select({ id: users.id, name: users.name, role: users.role, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.kind, "service_account"))
    .orderBy(asc(users.createdAt), asc(users.id));
}

/** Removing a person: one of their keys goes to a service account instead of being deleted. */
export interface KeyMove {
  keyId: string;
  accountId: string;
}

export interface MovedKey {
  id: string;
  name: string;
  accountId: string;
  accountName: string;
  /** The key's new secret (moving regenerates it), shown once to the admin who moved it. */
  secret: string;
}

/**
 * Moves some of a departing user's keys (already locked by the caller, in its transaction) to
 * service accounts. Each moved key gets a new secret, so the person's copy stops at once, and
 * keeps its name, level, expiry, description and status. Refused as a whole when a key is not
 * among the user's, an account is not a service account, its role does not allow the key's level,
 * or it already has a key of that name. Audited per key; the caller announces the change.
 */
export async function moveKeysToServiceAccounts(
  tx: Tx,
  actor: Actor,
  from: { id: string; email: string; name: string },
  keys: { id: string; name: string; accessLevel: AccessLevel }[],
  moves: KeyMove[],
): Promise<MovedKey[]> {
  if (!moves.length) return [];
  const byId = new Map(keys.map((k) => [k.id, k]));
  const seen = new Set<string>();
  for (const move of moves) {
    if (!byId.has(move.keyId) || seen.has(move.keyId)) {
      throw conflict(`${from.name}'s keys changed since you looked. Review the removal again.`);
    }
    seen.add(move.keyId);
  }
  const accountIds = [...new Set(moves.map((m) => m.accountId))].sort();
  if (accountIds.includes(from.id) || !accountIds.every(isUuid)) throw notFound(SERVICE_ACCOUNT_NOT_FOUND);
  // Locked in a fixed order, so a concurrent change of an account's role waits for this one.
  const accounts = await tx
    .select({ id: users.id, name: users.name, role: users.role })
    .from(users)
    .where(and(inArray(users.id, accountIds), eq(users.kind, "service_account")))
    .orderBy(asc(users.id))
    .for("update");
  if (accounts.length !== accountIds.length) throw notFound(SERVICE_ACCOUNT_NOT_FOUND);
  const accountOf = new Map(accounts.map((a) => [a.id, a]));
  const taken = await tx.select({ userId: apiKeys.userId, name: apiKeys.name }).from(apiKeys).where(inArray(apiKeys.userId, accountIds));
  const takenNames = new Set(taken.map((t) => `${t.userId}/${t.name.toLowerCase()}`));

  const moved: MovedKey[] = [];
  for (const move of moves) {
    const key = byId.get(move.keyId)!;
    const account = accountOf.get(move.accountId)!;
    if (!allowedAccessLevels(account.role).includes(key.accessLevel)) {
      throw forbidden(
        `"${key.name}" is Read & Write and ${account.name} is Read-only: delete the key or move it to a Staff service account.`,
      );
    }
    if (takenNames.has(`${account.id}/${key.name.toLowerCase()}`)) {
      throw conflict(`${account.name} already has an API key named "${key.name}". Delete this one, or rename one of them first.`);
    }
    const { secret, columns } = newSecretColumns(key.id);
    await tx
      .update(apiKeys)
      .set({ userId: account.id, ...columns, previousDigest: null, previousExpiresAt: null, updatedAt: new Date() })
      .where(eq(apiKeys.id, key.id));
    await recordAudit(tx, actor, {
      action: "api_key.moved",
      targetType: "api_key",
      targetId: key.id,
      targetLabel: key.name,
      metadata: {
        reason: "user_removed",
        from: from.email,
        to: account.name,
        service_account_id: account.id,
        access_level: key.accessLevel,
      },
    });
    moved.push({ id: key.id, name: key.name, accountId: account.id, accountName: account.name, secret });
  }
  await announceKeyChange(tx, { keyIds: moved.map((m) => m.id) });
  return moved;
}
