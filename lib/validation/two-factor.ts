import { z } from "@/lib/validation/zod";

/**
 * Two-factor authentication's operations (SPEC §12). A code is a 6-digit code from the person's
 * authenticator app or one of their recovery codes; the services tell them apart (and count every
 * wrong one), so here it only has to be a short piece of text.
 */
export const ENTER_CODE_MESSAGE = "Enter the authentication code from your app.";

const code = z
  .string({ error: ENTER_CODE_MESSAGE })
  .trim()
  .min(1, ENTER_CODE_MESSAGE)
  .max(64, "An authentication code is 6 digits; a recovery code 10 letters and digits.");

/** Set up two-factor authentication (no fields: the server makes the secret). */
export const beginTwoFactorSetupSchema = z.object({});

/** Turn on: the first code of the new secret. */
export const enableTwoFactorSchema = z.object({ code });
export type EnableTwoFactorInput = z.infer<typeof enableTwoFactorSchema>;

/** Turn off: a code; the password too when the session's Confirm it's you has lapsed. */
export const disableTwoFactorSchema = z.object({ code, password: z.string().max(200).optional() });
export type DisableTwoFactorInput = z.infer<typeof disableTwoFactorSchema>;

/** Generate new recovery codes: a code first. */
export const regenerateRecoveryCodesSchema = z.object({ code });

/** The second sign-in step: **Authentication code** (a recovery code also works, once). */
export const secondFactorSchema = z.object({ code });
export type SecondFactorInput = z.infer<typeof secondFactorSchema>;

/**
 * Confirm it's you with two-factor authentication: the password (absent for an account single
 * sign-on made) and the code. Which of them are needed is the service's decision (it knows the
 * account); both are optional here and an empty one is refused there, under its field.
 */
export const confirmIdentityWithCodeSchema = z.object({
  password: z.string().max(200).optional(),
  code: z.string().trim().max(64).optional(),
});
export type ConfirmIdentityWithCodeInput = z.infer<typeof confirmIdentityWithCodeSchema>;
