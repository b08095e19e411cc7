import { ACCESS_LEVEL_VALUES, KEY_STATUS_VALUES, ROLE_VALUES } from "@/db/enums";
import type { AccessLevel, Role } from "@/db/schema";

// The database's enum lists (db/enums.ts, which db/schema.ts builds its pgEnums from), for forms,
// filters and schemas; safe to use in the browser.
/** Every role, Owner first. */
export const ROLES = ROLE_VALUES;
/** Every access level, Read-only first. */
export const ACCESS_LEVELS = ACCESS_LEVEL_VALUES;
/** Every key status. */
export const KEY_STATUSES = KEY_STATUS_VALUES;

export const ROLE_LABELS: Record<Role, string> = {
  owner: "Owner",
  admin: "Admin",
  staff: "Staff",
  read_only: "Read-only",
  lite: "Lite",
};

export const ACCESS_LEVEL_LABELS: Record<AccessLevel, string> = {
  read_only: "Read-only",
  read_write: "Read & Write",
};

export type Permission =
  | "keys.own" // hold and manage one's own API keys
  | "keys.readWrite" // choose the Read & Write level
  | "keys.manageAll" // API Access Manager: see every key; disable, enable, delete any
  | "users.manage" // Users page: invite, change role, remove
  | "audit.read"
  | "settings.manage" // /admin/settings: the organisation's key policy
  | "ownership.transfer";

// SPEC §2, ChartMogul's matrix. Every permission check in the app reads this table.
const MATRIX: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(["keys.own", "keys.readWrite", "keys.manageAll", "users.manage", "audit.read", "settings.manage", "ownership.transfer"]),
  admin: new Set(["keys.own", "keys.readWrite", "keys.manageAll", "users.manage", "audit.read", "settings.manage"]),
  staff: new Set(["keys.own", "keys.readWrite"]),
  read_only: new Set(["keys.own"]),
  lite: new Set(),
};

export function can(role: Role, permission: Permission): boolean {
  return MATRIX[role].has(permission);
}

/** The access levels a role may give its own keys. */
export function allowedAccessLevels(role: Role): AccessLevel[] {
  if (!can(role, "keys.own")) return [];
  return can(role, "keys.readWrite") ? ["read_only", "read_write"] : ["read_only"];
}

export function isAdminRole(role: Role): boolean {
  return can(role, "users.manage");
}

/** Roles an invite may grant: never Owner (ownership only moves by transfer). */
export const INVITABLE_ROLES = ["admin", "staff", "read_only", "lite"] as const satisfies readonly Role[];

/**
 * Whether `actor` may change `target`'s role to `next` (or remove them when `next` is null).
 * Admins never touch the Owner and never grant Owner; nobody changes their own role here
 * (the Owner leaves the role only by transferring ownership).
 */
export function canManageUser(actor: { id: string; role: Role }, target: { id: string; role: Role }, next: Role | null): boolean {
  if (!can(actor.role, "users.manage")) return false;
  if (actor.id === target.id) return false;
  if (target.role === "owner") return false;
  if (next === "owner") return false;
  return true;
}

/**
 * Whether `actor` may sign `target` out everywhere from the Users page: as with other user
 * changes, never oneself (Profile's Sessions does that) and never the Owner unless you are the Owner.
 */
export function canSignOutEverywhere(actor: { id: string; role: Role }, target: { id: string; role: Role }): boolean {
  if (!can(actor.role, "users.manage")) return false;
  if (actor.id === target.id) return false;
  return target.role !== "owner" || actor.role === "owner";
}

/**
 * Which of a user's keys a role change to `next` deletes (ChartMogul's downgrade rules):
 * to Lite, every key; to Read-only, the Read & Write keys; otherwise none.
 */
export function keysDeletedByRoleChange(next: Role, level: AccessLevel): boolean {
  const allowed = allowedAccessLevels(next);
  return !allowed.includes(level);
}
