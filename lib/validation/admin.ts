import { z } from "@/lib/validation/zod";
import { AUDIT_ACTIONS } from "@/lib/audit/action-names";
import { ACCESS_LEVELS, KEY_STATUSES, ROLES } from "@/lib/auth/permissions";
import { CONTROL_CHARS, uuid } from "./common";
import { keyStatus } from "./keys";

/**
 * URL state of the admin tables. Each page parses its search params with one of these schemas,
 * and the service parses again with the same one, so what a URL can ask for is decided here.
 * Bad values never fail a page: each field falls back to its default (a shared link with an
 * unknown sort or a negative page size still opens, with the default in its place).
 */

type SearchParams = Record<string, string | string[] | undefined>;

/** The first value of a repeated query parameter (`?role=a&role=b` -> "a"). */
const single = (value: unknown) => (Array.isArray(value) ? value[0] : value);

const EVERY_CONTROL_CHAR = new RegExp(CONTROL_CHARS.source, "g");

/** Free text from a URL: one line, trimmed, at most `max` characters; anything else is "". */
const searchText = (max: number) =>
  z.preprocess((value) => {
    const text = single(value);
    return typeof text === "string" ? text.replace(EVERY_CONTROL_CHAR, " ").trim().slice(0, max) : "";
  }, z.string());

const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.preprocess(single, z.enum(values).optional()).catch(undefined);

const positiveInt = (max: number) => z.preprocess(single, z.coerce.number().int().min(1).max(max));

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
export const DEFAULT_PAGE_SIZE: PageSize = 25;

const pageSize = z
  .preprocess(single, z.coerce.number())
  .refine((n): n is PageSize => (PAGE_SIZES as readonly number[]).includes(n))
  .transform((n) => n as PageSize)
  .catch(DEFAULT_PAGE_SIZE);

// ---------------------------------------------------------------------------------------------
// API Access Manager (/admin/api-access)

/** The columns the Access Manager sorts by; the same ids name the table's columns. */
export const KEY_SORTS = ["name", "accessLevel", "user", "createdAt", "role", "status", "lastUsedAt", "expiresAt"] as const;
export type KeySort = (typeof KEY_SORTS)[number];

export const SEARCH_MAX_LENGTH = 100;

/** Status as the table shows it: a key's status, or Expired (an active key past its expiry). */
export const KEY_STATE_FILTERS = [...KEY_STATUSES, "expired"] as const;
export type KeyStateFilter = (typeof KEY_STATE_FILTERS)[number];

/** The Expires filter (SPEC §11): already expired, expiring within 7 or 30 days, or never. */
export const EXPIRES_FILTERS = ["expired", "7d", "30d", "never"] as const;
export type ExpiresFilter = (typeof EXPIRES_FILTERS)[number];
export const EXPIRES_FILTER_LABELS: Record<ExpiresFilter, string> = {
  expired: "Expired",
  "7d": "Within 7 days",
  "30d": "Within 30 days",
  never: "Never",
};

/** The Last used filter: never used, or last used over 30 or 90 days ago (never-used keys are "Never"). */
export const LAST_USED_FILTERS = ["never", "30d", "90d"] as const;
export type LastUsedFilter = (typeof LAST_USED_FILTERS)[number];
export const LAST_USED_FILTER_LABELS: Record<LastUsedFilter, string> = {
  never: "Never",
  "30d": "Over 30 days ago",
  "90d": "Over 90 days ago",
};

/** Selected rows the bulk actions take at once: at most a page of the largest size. */
export const BULK_MAX_KEYS = 100;

export const accessManagerQuerySchema = z.object({
  q: searchText(SEARCH_MAX_LENGTH),
  status: oneOf(KEY_STATE_FILTERS),
  level: oneOf(ACCESS_LEVELS),
  role: oneOf(ROLES),
  expires: oneOf(EXPIRES_FILTERS),
  last_used: oneOf(LAST_USED_FILTERS),
  // Keys that would live longer from now than the organisation's Maximum key lifetime allows.
  over_policy: z.preprocess((value) => (single(value) === "1" || value === true ? true : undefined), z.literal(true).optional()),
  sort: z.preprocess(single, z.enum(KEY_SORTS)).catch("createdAt"),
  dir: z.preprocess(single, z.enum(["asc", "desc"])).catch("desc"),
  // Past the last page is clamped by the service, which knows the total.
  page: positiveInt(1_000_000).catch(1),
  size: pageSize,
});
export type AccessManagerQuery = z.infer<typeof accessManagerQuerySchema>;

export const DEFAULT_ACCESS_MANAGER_QUERY: AccessManagerQuery = accessManagerQuerySchema.parse({});

export function parseAccessManagerQuery(params: SearchParams | URLSearchParams): AccessManagerQuery {
  return accessManagerQuerySchema.parse(toRecord(params));
}

/** The canonical query string of a state: defaults are left out, so URLs stay short. */
export function accessManagerSearch(query: AccessManagerQuery): string {
  const d = DEFAULT_ACCESS_MANAGER_QUERY;
  const out = new URLSearchParams();
  if (query.q) out.set("q", query.q);
  if (query.status) out.set("status", query.status);
  if (query.level) out.set("level", query.level);
  if (query.role) out.set("role", query.role);
  if (query.expires) out.set("expires", query.expires);
  if (query.last_used) out.set("last_used", query.last_used);
  if (query.over_policy) out.set("over_policy", "1");
  if (query.sort !== d.sort || query.dir !== d.dir) {
    out.set("sort", query.sort);
    out.set("dir", query.dir);
  }
  if (query.page !== 1) out.set("page", String(query.page));
  if (query.size !== d.size) out.set("size", String(query.size));
  const text = out.toString();
  return text ? `?${text}` : "";
}

// ---------------------------------------------------------------------------------------------
// Audit log (/admin/audit-log)

export const auditLogQuerySchema = z.object({
  // Case-insensitive "contains" over who acted (an email) and the target (an email or key name),
  // or a target's exact id.
  actor: searchText(254),
  action: oneOf(AUDIT_ACTIONS),
  target: searchText(254),
  // Keyset pagination: entries older than `before`, or newer than `after` (audit row ids).
  before: positiveInt(Number.MAX_SAFE_INTEGER).optional().catch(undefined),
  after: positiveInt(Number.MAX_SAFE_INTEGER).optional().catch(undefined),
  size: pageSize,
});
export type AuditLogQuery = z.infer<typeof auditLogQuerySchema>;

export function parseAuditLogQuery(params: SearchParams | URLSearchParams): AuditLogQuery {
  return auditLogQuerySchema.parse(toRecord(params));
}

export function auditLogSearch(query: Partial<AuditLogQuery>): string {
  const out = new URLSearchParams();
  if (query.actor) out.set("actor", query.actor);
  if (query.action) out.set("action", query.action);
  if (query.target) out.set("target", query.target);
  if (query.before) out.set("before", String(query.before));
  else if (query.after) out.set("after", String(query.after));
  if (query.size && query.size !== DEFAULT_PAGE_SIZE) out.set("size", String(query.size));
  const text = out.toString();
  return text ? `?${text}` : "";
}

function toRecord(params: SearchParams | URLSearchParams): SearchParams {
  if (!(params instanceof URLSearchParams)) return params;
  const out: SearchParams = {};
  for (const key of new Set(params.keys())) out[key] = params.getAll(key);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Users (/admin/users): role changes, removal, ownership

/** Any role, as a form sends it; whether the actor may grant it is the service's decision. */
export const roleField = z.enum(ROLES, { error: "Choose a role: Owner, Admin, Staff, Read-only or Lite." });

export const changeRoleSchema = z.object({
  userId: uuid,
  role: roleField,
  // The ids of the keys the confirmation listed. When the change would delete a key that was not
  // on that list (created since), it is refused, so nothing is deleted unseen.
  confirmedKeyIds: z.array(uuid).max(1000, "Too many keys.").optional(),
});
export type ChangeRoleInput = z.infer<typeof changeRoleSchema>;

export const previewRoleChangeSchema = z.object({ userId: uuid, role: roleField });

export const userIdSchema = z.object({ userId: uuid });

// ---------------------------------------------------------------------------------------------
// Access Manager bulk actions: Disable selected, Delete selected

export const bulkKeyIdsSchema = z.object({
  ids: z
    .array(uuid, { error: "Select the keys to change." })
    .min(1, "Select at least one key.")
    .max(BULK_MAX_KEYS, `Select at most ${BULK_MAX_KEYS} keys at a time.`),
});
export type BulkKeyIdsInput = z.infer<typeof bulkKeyIdsSchema>;

// ---------------------------------------------------------------------------------------------
// The admin API (GET /api/v1/admin/api_keys, /api/v1/admin/audit_log) and the CSV exports: the
// same filters as the pages, in snake_case, but strict (a bad value is a 422 naming it, not the
// page's quiet fallback), with a cursor instead of a page number.

/** The API's sort keys, each the page's column id in snake_case; `-` before one sorts descending. */
export const API_KEY_SORTS = {
  created_at: "createdAt",
  name: "name",
  access_level: "accessLevel",
  user: "user",
  role: "role",
  status: "status",
  last_used_at: "lastUsedAt",
  expires_at: "expiresAt",
} as const satisfies Record<string, KeySort>;
type ApiKeySort = keyof typeof API_KEY_SORTS;
const API_KEY_SORT_VALUES = Object.keys(API_KEY_SORTS).flatMap((sort) => [sort, `-${sort}`]) as [string, ...string[]];

export const API_LIST_MAX = 200;
export const API_LIST_DEFAULT = 50;

const apiLimit = z.coerce
  .number({ error: "limit must be a number." })
  .int("limit must be a whole number.")
  .min(1, "limit must be at least 1.")
  .max(API_LIST_MAX, `limit must be at most ${API_LIST_MAX}.`)
  .optional()
  .meta({ description: `Entries per page (1-${API_LIST_MAX}, default ${API_LIST_DEFAULT}).` });

const apiCursor = z
  .string()
  .max(4000, "The cursor is not valid; use the one a previous page returned.")
  .optional()
  .meta({ description: "The `cursor` of the previous page (opaque)." });

const apiText = (max: number, description: string) =>
  z
    .string()
    .max(max, `At most ${max} characters.`)
    .refine((v) => !CONTROL_CHARS.test(v), "Control characters are not allowed.")
    .optional()
    .meta({ description });

const apiEnum = <T extends readonly [string, ...string[]]>(values: T, name: string, description: string) =>
  z
    .enum(values, { error: `${name} must be one of: ${values.join(", ")}.` })
    .optional()
    .meta({ description });

/** GET /api/v1/admin/api_keys's query (and the Access Manager's export, from the page's URL). */
export const adminApiKeysQuerySchema = z.strictObject({
  q: apiText(SEARCH_MAX_LENGTH, "Search key names and their users' names and emails (contains, case-insensitive)."),
  status: apiEnum(KEY_STATE_FILTERS, "status", "`active`, `disabled`, or `expired` (an active key past its expiry)."),
  access_level: apiEnum(ACCESS_LEVELS, "access_level", "`read_only` or `read_write`."),
  role: apiEnum(ROLES, "role", "The key holder's role."),
  expires: apiEnum(EXPIRES_FILTERS, "expires", "`expired`, `7d` (within 7 days), `30d` (within 30 days) or `never`."),
  last_used: apiEnum(LAST_USED_FILTERS, "last_used", "`never`, `30d` (over 30 days ago) or `90d` (over 90 days ago)."),
  over_policy: apiEnum(
    ["true", "false"] as const,
    "over_policy",
    "`true`: only keys that would live longer from now than the organisation's maximum key lifetime allows " +
      "(the Access Manager's Over policy filter; none without a maximum). `false`: no such filter.",
  ),
  sort: z
    .enum(API_KEY_SORT_VALUES, { error: `sort must be one of: ${API_KEY_SORT_VALUES.join(", ")}.` })
    .optional()
    .meta({ description: "A column, `-` before it for descending; default `-created_at` (newest first)." }),
  cursor: apiCursor,
  limit: apiLimit,
});
export type AdminApiKeysQuery = z.infer<typeof adminApiKeysQuerySchema>;

/** The Access Manager's query for the API's filters and sort (the page and size are the cursor's business). */
export function accessManagerQueryOf(query: AdminApiKeysQuery): AccessManagerQuery {
  const sort = query.sort ?? "-created_at";
  const descending = sort.startsWith("-");
  return accessManagerQuerySchema.parse({
    q: query.q,
    status: query.status,
    level: query.access_level,
    role: query.role,
    expires: query.expires,
    last_used: query.last_used,
    over_policy: query.over_policy === "true" ? "1" : undefined,
    sort: API_KEY_SORTS[(descending ? sort.slice(1) : sort) as ApiKeySort],
    dir: descending ? "desc" : "asc",
  });
}

/** The API's filters for the Access Manager's current state (its Export CSV). */
export function adminApiKeysQueryOf(query: AccessManagerQuery): AdminApiKeysQuery {
  const sort = Object.entries(API_KEY_SORTS).find(([, column]) => column === query.sort)?.[0] ?? "created_at";
  return {
    q: query.q || undefined,
    status: query.status,
    access_level: query.level,
    role: query.role,
    expires: query.expires,
    last_used: query.last_used,
    over_policy: query.over_policy ? "true" : undefined,
    sort: query.dir === "desc" ? `-${sort}` : sort,
  };
}

/** PATCH /api/v1/admin/api_keys/{id}: Disable or Enable, as the Access Manager's menu. */
export const adminSetKeyStatusSchema = z.strictObject({ status: keyStatus });

/** GET /api/v1/admin/audit_log's query: the Audit log page's filters, newest first. */
export const adminAuditLogQuerySchema = z.strictObject({
  actor: apiText(254, "Who acted: any part of their email (case-insensitive)."),
  action: apiEnum(AUDIT_ACTIONS, "action", "One action, e.g. `api_key.created`."),
  target: apiText(254, "The target: any part of its email or key name (case-insensitive), or its exact id."),
  cursor: apiCursor,
  limit: apiLimit,
});
export type AdminAuditLogQuery = z.infer<typeof adminAuditLogQuerySchema>;

/** The Audit log page's filters for the API's. */
export function auditLogQueryOf(query: AdminAuditLogQuery): AuditLogQuery {
  return auditLogQuerySchema.parse({ actor: query.actor, action: query.action, target: query.target });
}
