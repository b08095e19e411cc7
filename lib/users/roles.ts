import { and, asc, eq, inArray, notInArray } from "drizzle-orm";
import type { DbOrTx, Tx } from "@/db/client";
import { db } from "@/lib/runtime";
import { isUuid } from "@/db/sql";
import { apiKeys, sessions, users, type AccessLevel, type Role, type UserKind } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { notify } from "@/lib/notifications/notify";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { USERS_IN_BROWSER } from "./messages";
import { isServiceAccountRole, moveKeysToServiceAccounts, type KeyMove, type MovedKey } from "./service-accounts";
import { allowedAccessLevels, canManageUser, canSignOutEverywhere } from "@/lib/auth/permissions";
import { announceKeyChange } from "@/lib/keys/revocation";
import { conflict, forbidden, invalid, notFound } from "@/lib/errors";
import type { ChangeRoleInput } from "@/lib/validation/admin";

/**
 * Role changes, removal and ownership transfer (the Users page). Each runs in one transaction
 * with the keys it deletes, the key-change announcement and its audit rows: a failure anywhere
 * leaves the role and the keys as they were.
 */

const USER_NOT_FOUND = "User not found.";

export interface KeyToDelete {
  id: string;
  name: string;
  accessLevel: AccessLevel;
}

export interface RoleChangePreview {
  user: { id: string; name: string; email: string; role: Role };
  role: Role;
  /** The keys the change deletes (the downgrade rules), by name. */
  keysToDelete: KeyToDelete[];
}

/** `change`: every Users change needs Confirm it's you's recent confirmation (SPEC §12); previews do not. */
function requireUsersManage(actor: Actor, change = false): void {
  authorize(actor, "users.manage", { browserOnly: USERS_IN_BROWSER, recent: change });
}

/** Why `actor` may not change `target` to `next` (or remove them, when `next` is null). */
function refusal(actor: Actor, target: { id: string; role: Role; kind: UserKind }, next: Role | null): string | null {
  if (canManageUser({ id: actor.userId, role: actor.role }, target, next)) {
    if (target.kind === "service_account" && next !== null && !isServiceAccountRole(next)) {
      return "A service account can only be Staff or Read-only.";
    }
    return null;
  }
  if (actor.userId === target.id) return next === null ? "You cannot remove yourself." : "You cannot change your own role.";
  if (target.role === "owner") {
    return next === null
      ? "The Owner cannot be removed. The Owner can transfer ownership first."
      : "The Owner's role changes only by transferring ownership.";
  }
  if (next === "owner") return "Ownership moves only by transfer, which only the Owner can do.";
  return "You do not have permission to do that.";
}

/** A user by id; inside a change, locked until it commits (concurrent changes queue up). */
async function findUser(q: DbOrTx, id: string, lock: boolean) {
  if (!isUuid(id)) throw notFound(USER_NOT_FOUND);
  const query = q
    .select({ id: users.id, name: users.name, email: users.email, role: users.role, kind: users.kind })
    .from(users)
    .where(eq(users.id, id))
    .limit(1);
  const [row] = lock ? await query.for("update") : await query;
  if (!row) throw notFound(USER_NOT_FOUND);
  return row;
}

const lockUser = (tx: Tx, id: string) => findUser(tx, id, true);

/** The user's keys that role `next` does not allow (all of them for Lite), oldest first. */
async function keysNotAllowed(q: DbOrTx, userId: string, next: Role, lock: boolean): Promise<KeyToDelete[]> {
  const allowed = allowedAccessLevels(next);
  const query = q
    .select({ id: apiKeys.id, name: apiKeys.name, accessLevel: apiKeys.accessLevel })
    .from(apiKeys)
    .where(and(eq(apiKeys.userId, userId), allowed.length ? notInArray(apiKeys.accessLevel, allowed) : undefined))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  return lock ? query.for("update") : query;
}

/** What a role change would do, for the confirmation dialog. Changes nothing. */
export async function previewRoleChange(actor: Actor, userId: string, role: Role): Promise<RoleChangePreview> {
  requireUsersManage(actor);
  const user = await findUser(db(), userId, false);
  const why = refusal(actor, user, role);
  if (why) throw forbidden(why);
  const keysToDelete = user.role === role ? [] : await keysNotAllowed(db(), user.id, role, false);
  return { user, role, keysToDelete };
}

/** What removing a user would delete (all their keys), for the confirmation dialog. Changes nothing. */
export async function previewRemoval(actor: Actor, userId: string): Promise<Omit<RoleChangePreview, "role">> {
  requireUsersManage(actor);
  const user = await findUser(db(), userId, false);
  const why = refusal(actor, user, null);
  if (why) throw forbidden(why);
  return { user, keysToDelete: await keysNotAllowed(db(), user.id, "lite", false) };
}

/** Deletes keys as part of a user change, with one audit row each. */
async function deleteKeys(tx: Tx, actor: Actor, keys: KeyToDelete[], reason: "role_change" | "user_removed", ownerEmail: string) {
  if (!keys.length) return;
  await tx.delete(apiKeys).where(
    inArray(
      apiKeys.id,
      keys.map((k) => k.id),
    ),
  );
  for (const key of keys) {
    await recordAudit(tx, actor, {
      action: "api_key.deleted",
      targetType: "api_key",
      targetId: key.id,
      targetLabel: key.name,
      metadata: { reason, key_owner: ownerEmail, access_level: key.accessLevel },
    });
  }
}

export interface RoleChangeResult {
  user: { id: string; name: string; email: string; role: Role };
  from: Role;
  deletedKeys: string[];
}

/**
 * Changes a user's role. A downgrade deletes the keys the new role does not allow (to Lite: all;
 * to Read-only: the Read & Write ones) in the same transaction. Sessions are not ended: every
 * request re-reads the role, so the change applies from the next one.
 */
export async function changeRole(actor: Actor, input: ChangeRoleInput): Promise<RoleChangeResult> {
  requireUsersManage(actor, true);
  return db().transaction(async (tx) => {
    const user = await lockUser(tx, input.userId);
    const why = refusal(actor, user, input.role);
    if (why) throw forbidden(why);
    if (user.role === input.role) return { user, from: user.role, deletedKeys: [] };

    const doomed = await keysNotAllowed(tx, user.id, input.role, true);
    if (input.confirmedKeyIds) {
      const confirmed = new Set(input.confirmedKeyIds);
      const unseen = doomed.filter((k) => !confirmed.has(k.id));
      if (unseen.length) {
        throw conflict(
          `${user.name} has keys that were not on the list you confirmed ` +
            `(${unseen.map((k) => `"${k.name}"`).join(", ")}). Review the change again.`,
        );
      }
    }

    await tx.update(users).set({ role: input.role, updatedAt: new Date() }).where(eq(users.id, user.id));
    await deleteKeys(tx, actor, doomed, "role_change", user.email);
    // The role decides what every one of the user's keys may do, even the ones that stay.
    await announceKeyChange(tx, { userId: user.id });
    await notify(tx, {
      userId: user.id,
      kind: "role_changed",
      data: { from: user.role, to: input.role, deleted_keys: doomed.map((k) => k.name), by: actor.name },
    });
    await recordAudit(tx, actor, {
      action: "user.role_changed",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      metadata: { from: user.role, to: input.role, deleted_keys: doomed.map((k) => k.name) },
    });
    return { user: { ...user, role: input.role }, from: user.role, deletedKeys: doomed.map((k) => k.name) };
  });
}

/**
 * Removes a user: their sessions end (the row they name is gone) and their keys are deleted, except
 * those `moves` sends to a service account (regenerated as they move, so the person's copy dies).
 */
export async function removeUser(
  actor: Actor,
  userId: string,
  moves: KeyMove[] = [],
): Promise<{ name: string; email: string; deletedKeys: string[]; movedKeys: MovedKey[] }> {
  requireUsersManage(actor, true);
  return db().transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    const why = refusal(actor, user, null);
    if (why) throw forbidden(why);
    // canManageUser never lets anyone remove an Owner; this makes "never the last Owner" explicit.
    if (user.role === "owner") throw forbidden("The Owner cannot be removed.");

    const keys = await keysNotAllowed(tx, user.id, "lite", true);
    // Keys moved to a service account survive, under a new secret; the rest are deleted.
    const movedKeys = await moveKeysToServiceAccounts(tx, actor, user, keys, moves);
    const moved = new Set(movedKeys.map((k) => k.id));
    const doomed = keys.filter((k) => !moved.has(k.id));
    await deleteKeys(tx, actor, doomed, "user_removed", user.email);
    await announceKeyChange(tx, { userId: user.id });
    // Their sessions go with the row (on delete cascade): the next request of each is refused.
    await tx.delete(users).where(eq(users.id, user.id));
    await recordAudit(tx, actor, {
      action: "user.removed",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      metadata: {
        name: user.name,
        role: user.role,
        deleted_keys: doomed.map((k) => k.name),
        moved_keys: movedKeys.map((k) => ({ name: k.name, to: k.accountName })),
      },
    });
    return { name: user.name, email: user.email, deletedKeys: doomed.map((k) => k.name), movedKeys };
  });
}

/** Ends every session of another user (Users page, "Sign out everywhere"). Returns how many ended. */
export async function signOutEverywhere(actor: Actor, userId: string): Promise<{ name: string; email: string; sessions: number }> {
  requireUsersManage(actor, true);
  return db().transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    if (!canSignOutEverywhere({ id: actor.userId, role: actor.role }, user)) {
      throw forbidden(
        actor.userId === user.id
          ? "You cannot sign yourself out everywhere here. Use Sessions on your Profile."
          : "Only the Owner can sign the Owner out.",
      );
    }
    const ended = await tx.delete(sessions).where(eq(sessions.userId, user.id)).returning({ id: sessions.id });
    await recordAudit(tx, actor, {
      action: "user.signed_out_everywhere",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      metadata: { sessions: ended.length },
    });
    return { name: user.name, email: user.email, sessions: ended.length };
  });
}

/**
 * The Owner hands ownership to another user, who becomes the Owner; the old Owner becomes an
 * Admin. Both in one transaction. The partial unique index allows one owner row at a time, so the
 * old Owner is demoted before the new one is promoted.
 */
export async function transferOwnership(actor: Actor, userId: string): Promise<{ name: string; email: string }> {
  authorize(actor, "ownership.transfer", {
    message: "Only the Owner can transfer ownership.",
    browserOnly: "Ownership is only transferred in the browser.",
    recent: true,
  });
  if (userId === actor.userId) throw invalid("You are already the Owner.");
  return db().transaction(async (tx) => {
    // Lock both rows in a fixed order (by id) so two concurrent transfers cannot deadlock.
    const [first, second] = [actor.userId, userId].sort();
    const a = await lockUser(tx, first!);
    const b = await lockUser(tx, second!);
    const me = a.id === actor.userId ? a : b;
    const target = a.id === actor.userId ? b : a;
    // The session said Owner; the row decides (a transfer may have happened since).
    if (me.role !== "owner") throw forbidden("Only the Owner can transfer ownership.");

    await tx.update(users).set({ role: "admin", updatedAt: new Date() }).where(eq(users.id, me.id));
    if (target.kind !== "person") throw invalid("Ownership can only go to a person, not a service account.");
    await tx.update(users).set({ role: "owner", updatedAt: new Date() }).where(eq(users.id, target.id));
    await announceKeyChange(tx, { userId: me.id });
    await announceKeyChange(tx, { userId: target.id });
    await recordAudit(tx, actor, {
      action: "user.ownership_transferred",
      targetType: "user",
      targetId: target.id,
      targetLabel: target.email,
      metadata: { from: me.email, to: target.email, previous_role: target.role, previous_owner_role: "admin" },
    });
    return { name: target.name, email: target.email };
  });
}
