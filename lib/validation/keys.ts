import { z } from "zod";
import { ACCESS_LEVELS, KEY_STATUSES } from "@/lib/auth/permissions";
import { displayName, uuid } from "./common";

export const accessLevel = z.enum(ACCESS_LEVELS, {
  error: "Choose an access level: Read-only or Read & Write.",
});
export const keyStatus = z.enum(KEY_STATUSES, { error: "The status must be active or disabled." });

export const keyName = displayName("name");

/** Add API Key: the form, the server action and POST /api/v1/api_keys. */
export const createApiKeySchema = z.object({
  name: keyName,
  access_level: accessLevel.default("read_only"),
});
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;

export const apiKeyIdSchema = z.object({ id: uuid });

export const renameApiKeySchema = z.object({ id: uuid, name: keyName });
export type RenameApiKeyInput = z.infer<typeof renameApiKeySchema>;

export const setApiKeyStatusSchema = z.object({ id: uuid, status: keyStatus });

export const revealPurpose = z.enum(["reveal", "copy", "qr"]);
export const revealApiKeySchema = z.object({ id: uuid, purpose: revealPurpose });
export type RevealPurpose = z.infer<typeof revealPurpose>;

/** PATCH /api/v1/api_keys/{id}: name and status, both optional, nothing else. */
export const updateApiKeySchema = z
  .strictObject({ name: keyName.optional(), status: keyStatus.optional() })
  .refine((v) => v.name !== undefined || v.status !== undefined, "Send a name, a status, or both.");
