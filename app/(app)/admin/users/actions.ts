"use server";

import { revalidatePath } from "next/cache";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import { typedActionWithActor, validatedActionWithActor } from "@/lib/safe-action";
import {
  changeRole,
  previewRemoval,
  previewRoleChange,
  removeUser,
  signOutEverywhere,
  transferOwnership,
  type KeyToDelete,
} from "@/lib/users/roles";
import { createInvite } from "@/lib/users/service";
import { createServiceAccount } from "@/lib/users/service-accounts";
import { changeRoleSchema, previewRoleChangeSchema, userIdSchema } from "@/lib/validation/admin";
import { createServiceAccountSchema, inviteSchema, removeUserSchema } from "@/lib/validation/users";

export const createInviteAction = validatedActionWithActor(inviteSchema, async (input, actor) => {
  const invite = await createInvite(actor, input);
  revalidatePath("/admin/users");
  return { ok: true, data: { path: `/invite/${invite.token}`, expiresAt: invite.expiresAt } };
});

export const createServiceAccountAction = validatedActionWithActor(createServiceAccountSchema, async (input, actor) => {
  const account = await createServiceAccount(actor, input);
  revalidatePath("/admin/users");
  return { ok: true, message: `Service account ${account.name} added (${ROLE_LABELS[account.role]}).` };
});

export type KeyPreview = Pick<KeyToDelete, "id" | "name" | "accessLevel">;

/** For the confirmation: the keys a role change would delete (by name). Changes nothing. */
export const previewRoleChangeAction = typedActionWithActor(previewRoleChangeSchema, async (input, actor) => {
  const preview = await previewRoleChange(actor, input.userId, input.role);
  return { ok: true, data: { keys: preview.keysToDelete.map(({ id, name, accessLevel }): KeyPreview => ({ id, name, accessLevel })) } };
});

export const changeRoleAction = typedActionWithActor(changeRoleSchema, async (input, actor) => {
  const result = await changeRole(actor, input);
  revalidatePath("/admin/users");
  const deleted = result.deletedKeys.length;
  return {
    ok: true,
    message:
      `${result.user.name} is now ${ROLE_LABELS[result.user.role]}.` +
      (deleted ? ` ${deleted} API ${deleted === 1 ? "key was" : "keys were"} deleted.` : ""),
  };
});

/** For the confirmation: the keys removing a user deletes. Changes nothing. */
export const previewRemovalAction = typedActionWithActor(userIdSchema, async (input, actor) => {
  const preview = await previewRemoval(actor, input.userId);
  return { ok: true, data: { keys: preview.keysToDelete.map(({ id, name, accessLevel }): KeyPreview => ({ id, name, accessLevel })) } };
});

/** A key moved to a service account as its holder was removed: its new secret, shown this once. */
export type MovedKeySecret = { id: string; name: string; accountName: string; secret: string };

export const removeUserAction = typedActionWithActor(removeUserSchema, async (input, actor) => {
  const removed = await removeUser(actor, input.userId, input.moves);
  revalidatePath("/admin/users");
  revalidatePath("/admin/api-access");
  const moved = removed.movedKeys.map(({ id, name, accountName, secret }): MovedKeySecret => ({ id, name, accountName, secret }));
  return {
    ok: true,
    message:
      `${removed.name} was removed.` + (moved.length ? ` ${moved.length} API ${moved.length === 1 ? "key was" : "keys were"} moved.` : ""),
    data: { moved },
  };
});

export const transferOwnershipAction = typedActionWithActor(userIdSchema, async (input, actor) => {
  const owner = await transferOwnership(actor, input.userId);
  revalidatePath("/admin/users");
  return { ok: true, message: `${owner.name} is now the Owner. You are an Admin.` };
});

export const signOutEverywhereAction = typedActionWithActor(userIdSchema, async (input, actor) => {
  const result = await signOutEverywhere(actor, input.userId);
  revalidatePath("/admin/users");
  return {
    ok: true,
    message:
      result.sessions === 0
        ? `${result.name} had no sessions.`
        : `${result.name} is signed out everywhere (${result.sessions} ${result.sessions === 1 ? "session" : "sessions"}).`,
  };
});
