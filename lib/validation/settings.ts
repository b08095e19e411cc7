import { z } from "@/lib/validation/zod";
import { TWO_FACTOR_POLICY_VALUES } from "@/db/enums";
import { lifetimeLabel, MAX_LIFETIME_CHOICES, UNUSED_CHOICES } from "@/lib/keys/expiry";

/**
 * The organisation's key policy as /admin/settings submits it (SPEC §11). Each field is one of its
 * choices, in days; "none" (or empty) is No limit / Off. A form sends strings; a service call may
 * send numbers or null: both parse to `number | null`.
 */

/** The value a select uses for No limit / Off (an option's value cannot be null). */
export const NO_LIMIT = "none";

function choiceOf(choices: readonly (number | null)[], none: string, what: string) {
  const listed = choices.map((days) => lifetimeLabel(days, none));
  const message = `Choose ${what}: ${listed.slice(0, -1).join(", ")} or ${listed.at(-1)}.`;
  return z.preprocess(
    (value) => {
      if (value === null || value === NO_LIMIT) return null;
      // Only whole numbers written plainly ("90", not "90.0", " 90" or "9e1").
      if (typeof value === "string" && /^[1-9][0-9]{0,5}$/.test(value)) return Number(value);
      return value;
    },
    z.union([z.null(), z.number()], { error: message }).refine((days) => choices.includes(days), message),
  );
}

export const keyPolicySchema = z.object({
  max_key_lifetime_days: choiceOf(MAX_LIFETIME_CHOICES, "No limit", "a maximum key lifetime"),
  disable_unused_after_days: choiceOf(UNUSED_CHOICES, "Off", "when to disable unused keys"),
});
export type KeyPolicyInput = z.input<typeof keyPolicySchema>;
export type KeyPolicyValues = z.infer<typeof keyPolicySchema>;

/** /admin/settings' **Require two-factor authentication** (SPEC §12): Off, For Owners and Admins, For everyone. */
export const TWO_FACTOR_POLICY_MESSAGE = "Choose who must use two-factor authentication: Off, For Owners and Admins or For everyone.";
export const twoFactorPolicySchema = z.object({
  require_two_factor: z.enum(TWO_FACTOR_POLICY_VALUES, { error: TWO_FACTOR_POLICY_MESSAGE }),
});
export type TwoFactorPolicyInput = z.input<typeof twoFactorPolicySchema>;
