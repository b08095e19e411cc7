"use server";

import { revalidatePath } from "next/cache";
import { createApiKey, deleteApiKey, regenerateApiKey, renameApiKey, revealApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { endOtherSessions, endOwnSession } from "@/lib/auth/sessions";
import { typedActionWithActor, validatedActionWithActor } from "@/lib/safe-action";
import { changeOwnPassword } from "@/lib/users/password";
import { changePasswordSchema, endOtherSessionsSchema, endSessionSchema } from "@/lib/validation/users";
import { apiKeyIdSchema, createApiKeySchema, renameApiKeySchema, revealApiKeySchema, setApiKeyStatusSchema } from "@/lib/validation/keys";

export type NewSecret = { id: string; name: string; secret: string };

export const createApiKeyAction = validatedActionWithActor(createApiKeySchema, async (input, actor) => {
  const { key, secret } = await createApiKey(actor, input);
  revalidatePath("/profile");
  return { ok: true, data: { id: key.id, name: key.name, secret } satisfies NewSecret };
});

export const revealApiKeyAction = typedActionWithActor(revealApiKeySchema, async (input, actor) => {
  const secret = await revealApiKey(actor, input.id, input.purpose);
  return { ok: true, data: { secret } };
});

export const renameApiKeyAction = validatedActionWithActor(renameApiKeySchema, async (input, actor) => {
  const key = await renameApiKey(actor, input.id, input.name);
  revalidatePath("/profile");
  return { ok: true, message: `Renamed to "${key.name}".` };
});

export const regenerateApiKeyAction = typedActionWithActor(apiKeyIdSchema, async (input, actor) => {
  const { key, secret } = await regenerateApiKey(actor, input.id);
  revalidatePath("/profile");
  return { ok: true, data: { id: key.id, name: key.name, secret } satisfies NewSecret };
});

export const setApiKeyStatusAction = typedActionWithActor(setApiKeyStatusSchema, async (input, actor) => {
  const key = await setOwnApiKeyStatus(actor, input.id, input.status);
  revalidatePath("/profile");
  return { ok: true, message: key.status === "active" ? `"${key.name}" is enabled.` : `"${key.name}" is disabled.` };
});

export const deleteApiKeyAction = typedActionWithActor(apiKeyIdSchema, async (input, actor) => {
  await deleteApiKey(actor, input.id);
  revalidatePath("/profile");
  return { ok: true, message: "API key deleted." };
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
