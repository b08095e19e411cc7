"use server";

import { revalidatePath } from "next/cache";
import { deleteApiKeyAsAdmin, setApiKeyStatusAsAdmin } from "@/lib/keys/admin";
import { typedActionWithActor } from "@/lib/safe-action";
import { apiKeyIdSchema, setApiKeyStatusSchema } from "@/lib/validation/keys";

export const setKeyStatusAsAdminAction = typedActionWithActor(setApiKeyStatusSchema, async (input, actor) => {
  const key = await setApiKeyStatusAsAdmin(actor, input.id, input.status);
  revalidatePath("/admin/api-access");
  return { ok: true, message: key.status === "active" ? `"${key.name}" is enabled.` : `"${key.name}" is disabled.` };
});

export const deleteKeyAsAdminAction = typedActionWithActor(apiKeyIdSchema, async (input, actor) => {
  const key = await deleteApiKeyAsAdmin(actor, input.id);
  revalidatePath("/admin/api-access");
  return { ok: true, message: `API key "${key.name}" deleted.` };
});
