"use server";

import { revalidatePath } from "next/cache";
import {
  createApiKeyForServiceAccount,
  deleteApiKeyAsAdmin,
  deleteApiKeysAsAdmin,
  disableApiKeysAsAdmin,
  setApiKeyStatusAsAdmin,
} from "@/lib/keys/admin";
import { typedActionWithActor, validatedActionWithActor } from "@/lib/safe-action";
import { countOf } from "@/lib/format";
import { KEY_TOASTS } from "@/lib/keys/messages";
import { bulkKeyIdsSchema } from "@/lib/validation/admin";
import { apiKeyIdSchema, serviceAccountKeyFormSchema, setApiKeyStatusSchema } from "@/lib/validation/keys";

export const setKeyStatusAsAdminAction = typedActionWithActor(setApiKeyStatusSchema, async (input, actor) => {
  const key = await setApiKeyStatusAsAdmin(actor, input.id, input.status);
  revalidatePath("/admin/api-access");
  return { ok: true, message: key.status === "active" ? KEY_TOASTS.enabled(key.name) : KEY_TOASTS.disabled(key.name) };
});

export const deleteKeyAsAdminAction = typedActionWithActor(apiKeyIdSchema, async (input, actor) => {
  const key = await deleteApiKeyAsAdmin(actor, input.id);
  revalidatePath("/admin/api-access");
  return { ok: true, message: KEY_TOASTS.deleted(key.name) };
});

/** A service account's new key: its secret, shown this once to the admin who made it. */
export type ServiceAccountSecret = { id: string; name: string; secret: string; accountName: string };

/** Add API Key for a service account (SPEC §12). */
export const createServiceAccountKeyAction = validatedActionWithActor(serviceAccountKeyFormSchema, async (input, actor) => {
  const { account_id: accountId, ...fields } = input;
  const { key, secret, account } = await createApiKeyForServiceAccount(actor, accountId, fields);
  revalidatePath("/admin/api-access");
  revalidatePath("/admin/users");
  return { ok: true, data: { id: key.id, name: key.name, secret, accountName: account.name } satisfies ServiceAccountSecret };
});

/** What a bulk action tells its dialog: how many keys it changed, and which selected ids were gone. */
export type BulkOutcome = { done: number; missing: string[] };

export const disableSelectedAction = typedActionWithActor(bulkKeyIdsSchema, async (input, actor) => {
  const result = await disableApiKeysAsAdmin(actor, input);
  revalidatePath("/admin/api-access");
  const n = result.done.length;
  return {
    ok: true,
    message: KEY_TOASTS.many(countOf(n, "API key"), "disabled"),
    data: { done: n, missing: result.missing } satisfies BulkOutcome,
  };
});

export const deleteSelectedAction = typedActionWithActor(bulkKeyIdsSchema, async (input, actor) => {
  const result = await deleteApiKeysAsAdmin(actor, input);
  revalidatePath("/admin/api-access");
  const n = result.done.length;
  return {
    ok: true,
    message: KEY_TOASTS.many(countOf(n, "API key"), "deleted"),
    data: { done: n, missing: result.missing } satisfies BulkOutcome,
  };
});
