/**
 * Every action the audit log records. A plain module (no database imports) so that the Audit
 * log's filter, its URL schema and the service share one list.
 */
export const AUDIT_ACTIONS = [
  "setup.owner_created",
  "auth.sign_in",
  "auth.sign_in_failed",
  "auth.sign_in_rate_limited",
  "auth.signed_out",
  "session.ended",
  "session.others_ended",
  "user.invited",
  "user.invite_accepted",
  "user.role_changed",
  "user.removed",
  "user.ownership_transferred",
  "user.password_changed",
  "user.password_change_failed",
  "user.password_change_rate_limited",
  "user.signed_out_everywhere",
  "api_key.created",
  "api_key.revealed",
  "api_key.copied",
  "api_key.qr_viewed",
  "api_key.renamed",
  "api_key.regenerated",
  "api_key.disabled",
  "api_key.enabled",
  "api_key.deleted",
  "api_key.rate_limited",
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** How the Audit log names each action. */
export const AUDIT_ACTION_LABELS: Record<AuditAction, string> = {
  "setup.owner_created": "Owner account created",
  "auth.sign_in": "Signed in",
  "auth.sign_in_failed": "Sign-in failed",
  "auth.sign_in_rate_limited": "Sign-in rate limited",
  "auth.signed_out": "Signed out",
  "session.ended": "Session signed out",
  "session.others_ended": "Other sessions signed out",
  "user.invited": "User invited",
  "user.invite_accepted": "Invite accepted",
  "user.role_changed": "Role changed",
  "user.removed": "User removed",
  "user.ownership_transferred": "Ownership transferred",
  "user.password_changed": "Password changed",
  "user.password_change_failed": "Password change failed",
  "user.password_change_rate_limited": "Password change rate limited",
  "user.signed_out_everywhere": "Signed out everywhere",
  "api_key.created": "API key created",
  "api_key.revealed": "API key revealed",
  "api_key.copied": "API key copied",
  "api_key.qr_viewed": "API key QR code shown",
  "api_key.renamed": "API key renamed",
  "api_key.regenerated": "API key regenerated",
  "api_key.disabled": "API key disabled",
  "api_key.enabled": "API key enabled",
  "api_key.deleted": "API key deleted",
  "api_key.rate_limited": "API key rate limited",
};
