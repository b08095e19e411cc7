import { z } from "@/lib/validation/zod";
import { ACCESS_LEVELS, KEY_STATUSES } from "@/lib/auth/permissions";
import { EXPIRATION_CHOICES, expiresAtFor, MAX_GRACE_PERIOD_SECONDS } from "@/lib/keys/expiry";
import { CONTROL_CHARS, displayName, uuid } from "./common";

export const accessLevel = z.enum(ACCESS_LEVELS, {
  error: "Choose an access level: Read-only or Read & Write.",
});
export const keyStatus = z.enum(KEY_STATUSES, { error: "The status must be active or disabled." });

export const keyName = displayName("name");

/** A key's description: optional, up to 500 characters; blank means none. Line breaks are kept. */
export const keyDescription = z
  .string({ error: "The description must be text." })
  .trim()
  .max(500, "The description must be at most 500 characters.")
  .refine((v) => !CONTROL_CHARS.test(v.replace(/\r?\n/g, "")), "The description cannot contain control characters.")
  .transform((v) => (v === "" ? null : v))
  .nullable();

/**
 * When a key stops working, as the API sends it: an ISO 8601 date-time with its offset, or null for
 * never. Whether it is in the future and within the organisation's policy is the service's check.
 */
export const expiresAt = z
  .union(
    [z.null(), z.iso.datetime({ offset: true, error: "expires_at must be an ISO 8601 date-time (e.g. 2027-01-31T23:59:59Z) or null." })],
    {
      error: "expires_at must be an ISO 8601 date-time (e.g. 2027-01-31T23:59:59Z) or null.",
    },
  )
  .transform((v) => (v === null ? null : new Date(v)));

/** Add API Key, as the service and POST /api/v1/api_keys take it. `expires_at` left out: the policy's default. */
export const createApiKeySchema = z.object({
  name: keyName,
  access_level: accessLevel.default("read_only"),
  description: keyDescription.optional(),
  expires_at: expiresAt.optional(),
});
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;

/** The dialog's Expiration: a choice, and the date for "Custom date" (YYYY-MM-DD). */
const expirationFields = {
  expiration: z.enum(EXPIRATION_CHOICES, { error: "Choose when the key expires." }),
  expiration_date: z.string().optional(),
};

/** Turns the dialog's Expiration into expires_at (relative to now), or reports the date field. */
function withExpiresAt<T extends { expiration: (typeof EXPIRATION_CHOICES)[number]; expiration_date?: string }>(
  value: T,
  ctx: z.RefinementCtx,
): (Omit<T, "expiration" | "expiration_date"> & { expires_at: Date | null }) | typeof z.NEVER {
  const { expiration, expiration_date, ...rest } = value;
  const at = expiresAtFor(expiration, expiration_date, new Date());
  if (at === undefined) {
    ctx.addIssue({ code: "custom", path: ["expiration_date"], message: "Enter a date (YYYY-MM-DD)." });
    return z.NEVER;
  }
  return { ...rest, expires_at: at };
}

/** The Add API Key form: the same fields, with the Expiration choice instead of expires_at. */
export const createApiKeyFormSchema = createApiKeySchema.omit({ expires_at: true }).extend(expirationFields).transform(withExpiresAt);

/** Access Manager: Add API Key for a service account (the account, then the same fields as Add API Key). */
const serviceAccountChoice = z.object({ account_id: z.uuid("Choose a service account.") });
export const serviceAccountKeyFormSchema = z.intersection(serviceAccountChoice, createApiKeyFormSchema);

export const apiKeyIdSchema = z.object({ id: uuid });

export const renameApiKeySchema = z.object({ id: uuid, name: keyName });
export type RenameApiKeyInput = z.infer<typeof renameApiKeySchema>;

/** The Edit API Key dialog: name and description. */
export const editApiKeySchema = z.object({ id: uuid, name: keyName, description: keyDescription.optional() });
export type EditApiKeyInput = z.infer<typeof editApiKeySchema>;

export const setApiKeyStatusSchema = z.object({ id: uuid, status: keyStatus });

export const revealPurpose = z.enum(["reveal", "copy", "qr"]);
export const revealApiKeySchema = z.object({ id: uuid, purpose: revealPurpose });
export type RevealPurpose = z.infer<typeof revealPurpose>;

export const gracePeriodSeconds = z.coerce
  .number({ error: "grace_period_seconds must be a number of seconds." })
  .int("grace_period_seconds must be a whole number of seconds.")
  .min(0, "grace_period_seconds must be between 0 and 604800 (7 days).")
  .max(MAX_GRACE_PERIOD_SECONDS, "grace_period_seconds must be between 0 and 604800 (7 days).");

/**
 * Regenerate, as the service and POST /api/v1/api_keys/{id}/regenerate take it: how long the old
 * secret keeps working (default none), and a new expiry (required for an expired key).
 */
export const regenerateApiKeySchema = z.strictObject({
  grace_period_seconds: gracePeriodSeconds.default(0),
  expires_at: expiresAt.optional(),
});
export type RegenerateApiKeyInput = z.infer<typeof regenerateApiKeySchema>;

/** Regenerate from the dialog: the key, the grace period, and an Expiration for an expired key. */
export const regenerateApiKeyFormSchema = z
  .object({ id: uuid, grace_period_seconds: gracePeriodSeconds.default(0), ...expirationFields })
  .partial({ expiration: true })
  .transform((value, ctx) => (value.expiration ? withExpiresAt({ ...value, expiration: value.expiration }, ctx) : value));

/** PATCH /api/v1/api_keys/{id}: name, status and description, each optional, nothing else. */
export const updateApiKeySchema = z
  .strictObject({ name: keyName.optional(), status: keyStatus.optional(), description: keyDescription.optional() })
  .refine(
    (v) => v.name !== undefined || v.status !== undefined || v.description !== undefined,
    "Send a name, a status, a description, or several.",
  );
