import { and, asc, count, desc, eq, inArray, sql, type AnyColumn, type SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { db } from "@/lib/runtime";
import { escapeLike, isUuid } from "@/db/sql";
import { apiKeys, users, type AccessLevel, type KeyStatus, type Role } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { forbidden, notFound } from "@/lib/errors";
import { notify } from "@/lib/notifications/notify";
import { accessManagerQuerySchema, type AccessManagerQuery, type KeySort } from "@/lib/validation/admin";
import { KEY_LOCKED_MESSAGE, KEY_NOT_FOUND } from "./messages";
import { announceKeyChange } from "./revocation";

/**
 * The API Access Manager: every key of the organisation, for Owners and Admins. Sorting,
 * filtering, search and pagination all happen in the database, and only display columns are ever
 * selected: an admin never receives a secret, a ciphertext or a digest.
 */

/** A key as the Access Manager shows it, with its user. */
export interface AdminKeyRow {
  id: string;
  name: string;
  accessLevel: AccessLevel;
  status: KeyStatus;
  disabledByAdmin: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  user: { id: string; name: string; email: string; role: Role };
}

export interface AdminKeyPage {
  rows: AdminKeyRow[];
  /** Keys matching the search and filters, on every page. */
  total: number;
  pageCount: number;
  /** The query actually served: defaults filled in, the page clamped to the last one. */
  query: AccessManagerQuery;
}

function requireManageAll(actor: Actor): void {
  // The Access Manager is a browser tool; an API key never acts on other people's keys.
  authorize(actor, "keys.manageAll", { browserOnly: "The API Access Manager is only available in the browser." });
}

const displayColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  accessLevel: apiKeys.accessLevel,
  status: apiKeys.status,
  disabledByAdmin: apiKeys.disabledByAdmin,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  userId: users.id,
  userName: users.name,
  userEmail: users.email,
  userRole: users.role,
};

interface DisplayRow {
  id: string;
  name: string;
  accessLevel: AccessLevel;
  status: KeyStatus;
  disabledByAdmin: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  userId: string;
  userName: string;
  userEmail: string;
  userRole: Role;
}

function toRow(r: DisplayRow): AdminKeyRow {
  return {
    id: r.id,
    name: r.name,
    accessLevel: r.accessLevel,
    status: r.status,
    disabledByAdmin: r.status === "disabled" && r.disabledByAdmin,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    user: { id: r.userId, name: r.userName, email: r.userEmail, role: r.userRole },
  };
}

/**
 * The WHERE clause of a query. Conditions on the user are `user_id IN (users ...)` rather than a
 * join, so counting never joins and the users table (small) is searched once, not once per key.
 */
function whereOf(query: AccessManagerQuery): SQL | undefined {
  const conditions: (SQL | undefined)[] = [
    query.status ? eq(apiKeys.status, query.status) : undefined,
    query.level ? eq(apiKeys.accessLevel, query.level) : undefined,
    query.role ? inArray(apiKeys.userId, db().select({ id: users.id }).from(users).where(eq(users.role, query.role))) : undefined,
  ];
  if (query.q) {
    // A case-insensitive "contains". api_keys.name_lower is maintained by PostgreSQL, so the key
    // side is a plain LIKE over one column (no per-row lower()); the user side reads the users
    // table once. Measured in bench/access-manager: well within budget at 100,000 keys, on both
    // PostgreSQL and PGlite, with no extension (pg_trgm is not in PGlite).
    const pattern = `%${escapeLike(query.q.toLowerCase())}%`;
    const matchingUsers = db()
      .select({ id: users.id })
      .from(users)
      .where(sql`lower(${users.name}) like ${pattern} or lower(${users.email}) like ${pattern}`);
    conditions.push(sql`(${apiKeys.nameLower} like ${pattern} or ${apiKeys.userId} in ${matchingUsers})`);
  }
  return and(...conditions);
}

/** Whether the order needs the users table joined (sorting by user or role). */
const SORTS_ON_USER: ReadonlySet<KeySort> = new Set(["user", "role"]);

/**
 * ORDER BY for a sort. Every order ends in (created_at, id), so it is total (pages never overlap)
 * and exactly reversible, and each matches one index read forwards or backwards (db/schema.ts).
 *
 * With `viaIndex: false` each term is wrapped in a no-op coalesce() that no index matches. A search
 * is a "contains" that no index can answer, and the planner, which cannot estimate how many keys
 * match, would otherwise walk an index in order and filter: instant when many keys match, a walk
 * over every row (hundreds of ms at 100k keys) when none do. Sorting what one scan found costs
 * the same whatever the search (see searchPage).
 */
function orderOf(sort: KeySort, dir: "asc" | "desc", opts: { viaIndex: boolean }): SQL[] {
  const term = (column: SQL | AnyColumn, nulls?: "first" | "last"): SQL => {
    const expr = opts.viaIndex ? sql`${column}` : sql`coalesce(${column}, ${column})`;
    return nulls ? sql`${expr} ${sql.raw(dir)} nulls ${sql.raw(nulls)}` : dir === "asc" ? asc(expr) : desc(expr);
  };
  // Matches api_keys_last_used_idx: most recent first and never-used last, or its exact reverse.
  // The columns after last_used_at are NOT NULL; their NULLS clause is there to match the index.
  const nulls = sort === "lastUsedAt" ? (dir === "desc" ? "last" : "first") : undefined;
  const byCreated = [term(apiKeys.createdAt, nulls), term(apiKeys.id, nulls)];
  const byUser = [term(sql`lower(${users.name})`), term(users.email), term(users.id)];
  switch (sort) {
    case "createdAt":
      return byCreated;
    case "name":
      return [term(apiKeys.nameLower), ...byCreated];
    case "accessLevel":
      return [term(apiKeys.accessLevel), ...byCreated];
    case "status":
      return [term(apiKeys.status), ...byCreated];
    case "user":
      return [...byUser, ...byCreated];
    case "role":
      return [term(users.role), ...byUser, ...byCreated];
    case "lastUsedAt":
      return [term(apiKeys.lastUsedAt, nulls), ...byCreated];
  }
}

async function countKeys(where: SQL | undefined): Promise<number> {
  const [row] = await db().select({ n: count() }).from(apiKeys).where(where);
  return row?.n ?? 0;
}

/**
 * One page of rows. The subquery finds the page's ids reading index columns only (a "deferred
 * join"): a deep OFFSET skips index entries rather than whole rows, and the display columns are
 * read for the page's rows alone. `scan` is the direction the subquery reads in (see below).
 */
async function pageRows(query: AccessManagerQuery, where: SQL | undefined, opts: { offset: number; limit: number; scan: "asc" | "desc" }) {
  if (opts.limit <= 0) return [];
  const ids = idQuery(query, where, {})
    .orderBy(...orderOf(query.sort, opts.scan, { viaIndex: true }))
    .limit(opts.limit)
    .offset(opts.offset);
  return displayRows(query, inArray(apiKeys.id, ids));
}

/** `select id [, extra] from api_keys`, joined to users when the sort needs it. */
function idQuery<E extends Record<string, SQL.Aliased | SQL>>(query: AccessManagerQuery, where: SQL | undefined, extra: E) {
  const base = db()
    .select({ id: apiKeys.id, ...extra })
    .from(apiKeys);
  return (SORTS_ON_USER.has(query.sort) ? base.innerJoin(users, eq(users.id, apiKeys.userId)) : base).where(where).$dynamic();
}

async function displayRows(query: AccessManagerQuery, which: SQL) {
  const rows = await db()
    .select(displayColumns)
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(which)
    .orderBy(...orderOf(query.sort, query.dir, { viaIndex: true }));
  return rows.map(toRow);
}

/**
 * A search: no index can answer a "contains", so every search reads the table once. That one
 * scan yields both the page (sorted from what it found, see orderOf) and the total, as a window
 * count, instead of a count and a page scanning twice.
 */
async function searchPage(query: AccessManagerQuery, where: SQL | undefined): Promise<{ total: number; rows: AdminKeyRow[] }> {
  const offset = (query.page - 1) * query.size;
  const found = await idQuery(query, where, { total: sql<number>`count(*) over ()`.mapWith(Number) })
    .orderBy(...orderOf(query.sort, query.dir, { viaIndex: false }))
    .limit(query.size)
    .offset(offset);
  if (found.length === 0) {
    // An empty first page means nothing matches. Past it, the page may be past the end: count,
    // and show the last page instead.
    if (query.page === 1) return { total: 0, rows: [] };
    const total = await countKeys(where);
    if (total === 0) {
      query.page = 1;
      return { total, rows: [] };
    }
    query.page = Math.max(1, Math.ceil(total / query.size));
    return searchPage(query, where);
  }
  const ids = found.map((r) => r.id);
  return { total: found[0]!.total, rows: await displayRows(query, inArray(apiKeys.id, ids)) };
}

/** One page of every key in the organisation, sorted, filtered and searched in the database. */
export async function listApiKeysForAdmin(actor: Actor, input: AccessManagerQuery): Promise<AdminKeyPage> {
  requireManageAll(actor);
  // Parse again: the service trusts nothing about how its caller built the query.
  const query = accessManagerQuerySchema.parse(input);
  const where = whereOf(query);
  const size = query.size;

  let total: number;
  let rows: AdminKeyRow[];
  if (query.q) {
    ({ total, rows } = await searchPage(query, where));
  } else if (query.page === 1) {
    [total, rows] = await Promise.all([countKeys(where), pageRows(query, where, { offset: 0, limit: size, scan: query.dir })]);
  } else {
    total = await countKeys(where);
    query.page = Math.min(query.page, Math.max(1, Math.ceil(total / size)));
    const offset = (query.page - 1) * size;
    const limit = Math.min(size, total - offset);
    // Past the middle, read from the other end (the same order reversed, a smaller OFFSET); the
    // outer query puts the rows back in the asked order.
    rows =
      offset > total / 2
        ? await pageRows(query, where, { offset: Math.max(0, total - offset - limit), limit, scan: query.dir === "asc" ? "desc" : "asc" })
        : await pageRows(query, where, { offset, limit, scan: query.dir });
  }
  return { rows, total, pageCount: Math.max(1, Math.ceil(total / size)), query };
}

/** Any key, with its owner's email for the audit row, locked for the transaction. */
async function anyKeyForUpdate(tx: DbOrTx, id: string) {
  if (!isUuid(id)) throw notFound(KEY_NOT_FOUND);
  const [row] = await tx
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      status: apiKeys.status,
      disabledByAdmin: apiKeys.disabledByAdmin,
      userId: apiKeys.userId,
      ownerEmail: users.email,
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(eq(apiKeys.id, id))
    .for("update", { of: apiKeys })
    .limit(1);
  if (!row) throw notFound(KEY_NOT_FOUND);
  return row;
}

/**
 * Disables or enables any key. A key disabled by someone other than its holder is marked so
 * (`disabledByAdmin`), and SPEC §10's admin lock applies: only an Owner, or an Admin who is not
 * its holder, may enable it again. Its holder cannot, here or from their profile
 * (lib/keys/service.ts setOwnApiKeyStatus refuses too), unless the holder is an Owner.
 */
export async function setApiKeyStatusAsAdmin(actor: Actor, id: string, status: KeyStatus): Promise<{ name: string; status: KeyStatus }> {
  requireManageAll(actor);
  return db().transaction(async (tx) => {
    const row = await anyKeyForUpdate(tx, id);
    const ownKey = row.userId === actor.userId;
    if (status === "active" && row.status === "disabled" && row.disabledByAdmin && ownKey && actor.role !== "owner") {
      throw forbidden(KEY_LOCKED_MESSAGE);
    }
    // Disabling one's own key is the holder's own choice (they may enable it again); disabling it
    // again when someone else already has must not lift their lock.
    if (ownKey && status === "disabled" && row.status === "disabled") return { name: row.name, status };
    const byAdmin = status === "disabled" && !ownKey;
    // Disabling a key its owner had disabled still takes it over, so the owner cannot undo it.
    if (row.status === status && row.disabledByAdmin === byAdmin) return { name: row.name, status };
    const now = new Date();
    await tx
      .update(apiKeys)
      .set({
        status,
        disabledByAdmin: byAdmin,
        disabledBy: status === "disabled" ? actor.userId : null,
        disabledReason: null,
        // Disabling ends a previous secret too; enabling restarts the unused-key clock.
        ...(status === "disabled" ? { previousDigest: null, previousExpiresAt: null } : { activeSince: now }),
        updatedAt: now,
      })
      .where(eq(apiKeys.id, row.id));
    await announceKeyChange(tx, { keyIds: [row.id] });
    if (byAdmin) {
      await notify(tx, { userId: row.userId, kind: "key_disabled_by_admin", keyId: row.id, keyName: row.name, data: { by: actor.name } });
    }
    await recordAudit(tx, actor, {
      action: status === "disabled" ? "api_key.disabled" : "api_key.enabled",
      targetType: "api_key",
      targetId: row.id,
      targetLabel: row.name,
      metadata: { by_admin: true, key_owner: row.ownerEmail },
    });
    return { name: row.name, status };
  });
}

/** Deletes any key, permanently. */
export async function deleteApiKeyAsAdmin(actor: Actor, id: string): Promise<{ name: string }> {
  requireManageAll(actor);
  return db().transaction(async (tx) => {
    const row = await anyKeyForUpdate(tx, id);
    await tx.delete(apiKeys).where(eq(apiKeys.id, row.id));
    await announceKeyChange(tx, { keyIds: [row.id] });
    if (row.userId !== actor.userId) {
      await notify(tx, { userId: row.userId, kind: "key_deleted_by_admin", keyId: row.id, keyName: row.name, data: { by: actor.name } });
    }
    await recordAudit(tx, actor, {
      action: "api_key.deleted",
      targetType: "api_key",
      targetId: row.id,
      targetLabel: row.name,
      metadata: { by_admin: true, key_owner: row.ownerEmail },
    });
    return { name: row.name };
  });
}
