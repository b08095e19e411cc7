/**
 * The database's enum values, once. db/schema.ts builds its pgEnums from these lists, and the
 * domain (lib/auth/permissions.ts) hands them to forms, filters and schemas. They live apart from
 * db/schema.ts because the browser uses them too (role and access-level pickers, the Access
 * Manager's filters), and importing db/schema there would ship every table definition and
 * drizzle's column builders to every page.
 */
/** Every role, Owner first. */
export const ROLE_VALUES = ["owner", "admin", "staff", "read_only", "lite"] as const;
/** Every access level, Read-only first. */
export const ACCESS_LEVEL_VALUES = ["read_only", "read_write"] as const;
/** Every key status. */
export const KEY_STATUS_VALUES = ["active", "disabled"] as const;
/** Whether a user is a person (signs in) or a service account (holds keys, never signs in). */
export const USER_KIND_VALUES = ["person", "service_account"] as const;
/** The organisation's "Require two-factor authentication" (SPEC §12): Off, For Owners and Admins, For everyone. */
export const TWO_FACTOR_POLICY_VALUES = ["off", "admins", "everyone"] as const;
