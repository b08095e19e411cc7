import type { Role, TwoFactorPolicy, UserKind } from "@/db/schema";

/** The choices of /admin/settings' **Require two-factor authentication** (SPEC §12). */
export const TWO_FACTOR_POLICY_LABELS: Record<TwoFactorPolicy, string> = {
  off: "Off",
  admins: "For Owners and Admins",
  everyone: "For everyone",
};

/**
 * Whether the organisation's policy requires this account to use two-factor authentication.
 * "For Owners and Admins" covers the roles owner and admin; "For everyone" every person. Service
 * accounts never sign in, so no policy covers them.
 */
export function twoFactorRequired(policy: TwoFactorPolicy, role: Role, kind: UserKind = "person"): boolean {
  if (kind !== "person") return false;
  if (policy === "everyone") return true;
  if (policy === "admins") return role === "owner" || role === "admin";
  return false;
}

/** A person the policy covers who has not turned two-factor authentication on yet: sent to set it up first. */
export function mustSetUpTwoFactor(policy: TwoFactorPolicy, role: Role, enabled: boolean, kind: UserKind = "person"): boolean {
  return !enabled && twoFactorRequired(policy, role, kind);
}
