/** What a notification can say (SPEC §11). The header's list and the emails word each one. */
export const NOTIFICATION_KINDS = [
  "key_expiring", // data: { days: 7 | 1, expires_at }
  "key_expired", // data: { expires_at }
  "key_disabled_by_admin", // data: { by }
  "key_deleted_by_admin", // data: { by }
  "key_disabled_unused", // data: { days }
  "role_changed", // data: { from, to, deleted_keys: string[] }
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
