"use server";

import { KEY_TOASTS } from "@/lib/keys/messages";
import { revalidatePath } from "next/cache";
import {
  createApiKey,
  deleteApiKey,
  regenerateApiKey,
  revealApiKey,
  revokePreviousSecret,
  setOwnApiKeyStatus,
  updateOwnApiKey,
} from "@/lib/keys/service";
import { endOtherSessions, endOwnSession } from "@/lib/auth/sessions";
import { typedActionWithActor, validatedActionWithActor } from "@/lib/safe-action";
import { changeOwnPassword } from "@/lib/users/password";
import { changePasswordSchema, endOtherSessionsSchema, endSessionSchema } from "@/lib/validation/users";
import {
  apiKeyIdSchema,
  createApiKeyFormSchema,
  editApiKeySchema,
  regenerateApiKeyFormSchema,
  revealApiKeySchema,
  setApiKeyStatusSchema,
} from "@/lib/validation/keys";

export type NewSecret = {
  id: string;
  name: string;
  secret: string;
  /** After a regenerate with a grace period: until when the old secret still works. */
  previousSecretExpiresAt?: Date | null;
};

export const createApiKeyAction = validatedActionWithActor(createApiKeyFormSchema, async (input, actor) => {
  const { key, secret } = await createApiKey(actor, input);
  revalidatePath("/profile");
  return { ok: true, data: { id: key.id, name: key.name, secret } satisfies NewSecret };
});

export const revealApiKeyAction = typedActionWithActor(revealApiKeySchema, async (input, actor) => {
  const secret = await revealApiKey(actor, input.id, input.purpose);
  return { ok: true, data: { secret } };
});

/** Edit API Key: the name and the description, in one transaction. */
export const editApiKeyAction = validatedActionWithActor(editApiKeySchema, async (input, actor) => {
  const key = await updateOwnApiKey(actor, input.id, { name: input.name, description: input.description });
  revalidatePath("/profile");
  return { ok: true, message: KEY_TOASTS.saved(key.name) };
});

/** Regenerate (confirmed): a grace period for the old secret, and a new Expiration for an expired key. */
export const regenerateApiKeyAction = validatedActionWithActor(regenerateApiKeyFormSchema, async ({ id, ...options }, actor) => {
  const { key, secret, previousSecretExpiresAt } = await regenerateApiKey(actor, id, options);
  revalidatePath("/profile");
  return { ok: true, data: { id: key.id, name: key.name, secret, previousSecretExpiresAt } satisfies NewSecret };
});

/** Revoke old secret now: ends a regenerate's grace period at once. */
export const revokePreviousSecretAction = typedActionWithActor(apiKeyIdSchema, async (input, actor) => {
  const key = await revokePreviousSecret(actor, input.id);
  revalidatePath("/profile");
  return { ok: true, message: KEY_TOASTS.previousRevoked(key.name) };
});

export const setApiKeyStatusAction = typedActionWithActor(setApiKeyStatusSchema, async (input, actor) => {
  const key = await setOwnApiKeyStatus(actor, input.id, input.status);
  revalidatePath("/profile");
  return { ok: true, message: key.status === "active" ? KEY_TOASTS.enabled(key.name) : KEY_TOASTS.disabled(key.name) };
});

export const deleteApiKeyAction = typedActionWithActor(apiKeyIdSchema, async (input, actor) => {
  const key = await deleteApiKey(actor, input.id);
  revalidatePath("/profile");
  return { ok: true, message: KEY_TOASTS.deleted(key.name) };
});

export const changePasswordAction = validatedActionWithActor(changePasswordSchema, async (input, actor) => {
  await changeOwnPassword(actor, input);
  revalidatePath("/profile");
  return { ok: true, message: "Password changed. Your other sessions were signed out." };
});

export const endSessionAction = typedActionWithActor(endSessionSchema, async (input, actor) => {
  const { current } = await endOwnSession(actor, input.sessionId);
  revalidatePath("/profile");
  return { ok: true, message: current ? "You are signed out." : "That session is signed out.", data: { current } };
});

export const endOtherSessionsAction = typedActionWithActor(endOtherSessionsSchema, async (_input, actor) => {
  const ended = await endOtherSessions(actor);
  revalidatePath("/profile");
  return {
    ok: true,
    message: ended === 0 ? "There were no other sessions." : `${ended} other ${ended === 1 ? "session was" : "sessions were"} signed out.`,
  };
});
