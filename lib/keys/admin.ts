import { and, asc, count, desc, eq, gt, inArray, isNull, lt, lte, or, sql, type AnyColumn, type SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { db } from "@/lib/runtime";
import { escapeLike, isUuid } from "@/db/sql";
import { apiKeyCount, apiKeys, users, type KeyStatus, type Role, type UserKind } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { conflict, forbidden, invalid, notFound, ServiceError } from "@/lib/errors";
import { notify } from "@/lib/notifications/notify";
import { readKeyPolicy, type KeyPolicy } from "@/lib/settings/policy";
import { accessManagerQuerySchema, bulkKeyIdsSchema, type AccessManagerQuery, type KeySort } from "@/lib/validation/admin";
import { keyState, toKeyDto, type ApiKeyDto, type KeyDtoSource, type KeyState } from "./dto";
import { isOverPolicy, latestAllowedExpiry } from "./expiry";
import { KEY_LOCKED_MESSAGE, KEY_NOT_FOUND } from "./messages";
import { announceKeyChange } from "./revocation";
import { ACCESS_LEVELS, allowedAccessLevels, KEY_STATUSES, ROLES } from "@/lib/auth/permissions";
import { decodeCursor, encodeCursor, keysetAfter, keysetOrder, keysetValues, type KeysetTerm } from "@/lib/export/cursor";
import type { CreateApiKeyInput } from "@/lib/validation/keys";
import { insertKeyInTx, isUniqueViolation, keyDtoColumns } from "./service";

/**
 * The API Access Manager: every key of the organisation, for Owners and Admins. Sorting,
 * filtering, search and pagination all happen in the database, and only display columns are ever
 * selected: an admin never receives a secret, a ciphertext or a digest.
 */

/**
 * A key as the Access Manager shows it: the very key object its holder sees (the masked key and
 * the description included, one meaning for each name everywhere), with its state, the policy's
 * verdict and its user.
 */
export interface AdminKeyRow extends ApiKeyDto {
  /** What the Status column shows: Active, Disabled, or Expired (an active key past its expiry, when the page was served). */
  state: KeyState;
  /** It would live longer from now than the organisation's Maximum key lifetime allows. */
  overPolicy: boolean;
  user: { id: string; name: string; email: string; role: Role; kind: UserKind };
}

export interface AdminKeyPage {
  rows: AdminKeyRow[];
  /**
   * Keys matching the search and filters, on every page: exact, or (a search matching very many
   * keys, `totalExact` false) how many there are at least.
   */
  total: number;
  /** Whether `total` is the exact count; false: there are more than `total`. */
  totalExact: boolean;
  /** Pages known to exist: all of them, or (`totalExact` false) up to one past the last one counted. */
  pageCount: number;
  /** The query actually served: defaults filled in, the page clamped to the last one. */
  query: AccessManagerQuery;
  /** The organisation's key policy, which Over policy is measured against. */
  policy: KeyPolicy;
}

/** `change`: every Access Manager change needs Confirm it's you's recent confirmation (SPEC §12). */
function requireManageAll(actor: Actor, change = false): void {
  // The page's paging, the bulk actions and keys for service accounts are browser tools.
  authorize(actor, "keys.manageAll", { browserOnly: "The API Access Manager is only available in the browser.", recent: change });
}

/**
 * What the admin API shares with the page (SPEC §13): the list by cursor, the export, and one
 * key's Disable, Enable and Delete. Through an API key, a change needs a Read & Write key.
 */
function requireManageAllAnywhere(actor: Actor, change = false): void {
  authorize(actor, "keys.manageAll", { recent: change, write: change });
}

const displayColumns = {
  ...keyDtoColumns,
  userId: users.id,
  userName: users.name,
  userEmail: users.email,
  userRole: users.role,
  userKind: users.kind,
};

interface DisplayRow extends KeyDtoSource {
  userId: string;
  userName: string;
  userEmail: string;
  userRole: Role;
  userKind: UserKind;
}

/** When the page is served and the policy then: what Expired, Within 7 days and Over policy are measured against. */
interface Moment {
  now: Date;
  policy: KeyPolicy;
}

function toRow(r: DisplayRow, moment: Moment): AdminKeyRow {
  return {
    ...toKeyDto(r),
    state: keyState(r, moment.now),
    overPolicy: isOverPolicy(r.expiresAt, moment.policy.maxKeyLifetimeDays, moment.now),
    user: { id: r.userId, name: r.userName, email: r.userEmail, role: r.userRole, kind: r.userKind },
  };
}

/**
 * A search's pattern and the users it matches (by name or email), found first with the users'
 * trigram indexes: a few milliseconds even for many users, and the keys are then one
 * `name_lower LIKE ... OR user_id = ANY(...)` that PostgreSQL answers from two indexes (a BitmapOr
 * of the keys' trigram index and api_keys_user_created_idx), or by walking the page's order when
 * many keys match. A semi-join (`user_id IN (select ...)`) inside the OR allows neither, so every
 * search read every key (hundreds of ms at a million). The list is a plain parameter so that the
 * planner knows how many users it has.
 *
 * When very many users match (a domain every email has), the list would cost more to send, parse
 * and plan (about 60 ms for 10,000 ids) than it saves: `userIds` is then null and the keys are
 * matched with the subquery after all. That many users hold very many keys, so the page's walk
 * down its index stops after a few rows either way.
 */
interface Search {
  pattern: string;
  userIds: string[] | null;
}

/** Past this many matching users, a search matches them with a subquery (see Search). */
const SEARCH_USER_LIST_MAX = 1000;

const usersMatching = (pattern: string) => sql`lower(${users.name}) like ${pattern} or lower(${users.email}) like ${pattern}`;

async function resolveSearch(query: AccessManagerQuery): Promise<Search | undefined> {
  if (!query.q) return undefined;
  const pattern = `%${escapeLike(query.q.toLowerCase())}%`;
  const matching = await db()
    .select({ id: users.id })
    .from(users)
    .where(usersMatching(pattern))
    .limit(SEARCH_USER_LIST_MAX + 1);
  return { pattern, userIds: matching.length > SEARCH_USER_LIST_MAX ? null : matching.map((u) => u.id) };
}

/**
 * The WHERE clause of a query. Conditions on the user are `user_id IN (users ...)` rather than a
 * join, so counting never joins and the users table (small) is searched once, not once per key.
 */
function whereOf(query: AccessManagerQuery, moment: Moment, search: Search | undefined): SQL | undefined {
  const conditions: (SQL | undefined)[] = [
    statusCondition(query.status, moment.now),
    query.level ? eq(apiKeys.accessLevel, query.level) : undefined,
    query.role ? inArray(apiKeys.userId, db().select({ id: users.id }).from(users).where(eq(users.role, query.role))) : undefined,
    expiresCondition(query.expires, moment.now),
    lastUsedCondition(query.last_used, moment.now),
    query.over_policy ? overPolicyCondition(moment) : undefined,
  ];
  if (search) {
    // A case-insensitive "contains": api_keys.name_lower is maintained by PostgreSQL, and its
    // trigram index (pg_trgm, on PostgreSQL and PGlite alike) answers LIKE '%text%'.
    const byName = sql`${apiKeys.nameLower} like ${search.pattern}`;
    const { userIds } = search;
    conditions.push(
      userIds === null
        ? sql`(${byName} or ${apiKeys.userId} in ${db().select({ id: users.id }).from(users).where(usersMatching(search.pattern))})`
        : userIds.length
          ? sql`(${byName} or ${apiKeys.userId} = any(${`{${userIds.join(",")}}`}::uuid[]))`
          : byName,
    );
  }
  return and(...conditions);
}

const DAY_MS = 24 * 60 * 60 * 1000;
const daysFrom = (now: Date, days: number) => new Date(now.getTime() + days * DAY_MS);

/** Status as the table shows it: an active key past its expiry is Expired, not Active. */
function statusCondition(status: AccessManagerQuery["status"], now: Date): SQL | undefined {
  switch (status) {
    case undefined:
      return undefined;
    case "disabled":
      return eq(apiKeys.status, "disabled");
    case "active":
      return and(eq(apiKeys.status, "active"), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));
    case "expired":
      return and(eq(apiKeys.status, "active"), lte(apiKeys.expiresAt, now));
  }
}

/** The Expires filter, a range of api_keys_expires_at_idx (whatever the status). */
function expiresCondition(expires: AccessManagerQuery["expires"], now: Date): SQL | undefined {
  switch (expires) {
    case undefined:
      return undefined;
    case "expired":
      return lte(apiKeys.expiresAt, now);
    case "7d":
      return and(gt(apiKeys.expiresAt, now), lte(apiKeys.expiresAt, daysFrom(now, 7)));
    case "30d":
      return and(gt(apiKeys.expiresAt, now), lte(apiKeys.expiresAt, daysFrom(now, 30)));
    case "never":
      return isNull(apiKeys.expiresAt);
  }
}

/** The Last used filter: "Over N days ago" means used, but not since; never-used keys are "Never". */
function lastUsedCondition(lastUsed: AccessManagerQuery["last_used"], now: Date): SQL | undefined {
  switch (lastUsed) {
    case undefined:
      return undefined;
    case "never":
      return isNull(apiKeys.lastUsedAt);
    case "30d":
      return lt(apiKeys.lastUsedAt, daysFrom(now, -30));
    case "90d":
      return lt(apiKeys.lastUsedAt, daysFrom(now, -90));
  }
}

/**
 * Over policy (isOverPolicy in SQL): no expiry, or one later than a key made now could get. Lowering
 * the Maximum key lifetime deletes nothing; these are the keys it left behind. None without a limit.
 */
function overPolicyCondition({ now, policy }: Moment): SQL {
  const latest = latestAllowedExpiry(policy.maxKeyLifetimeDays, now);
  if (!latest) return sql`false`;
  return or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, latest))!;
}

/** Whether the order needs the users table joined (sorting by user or role). */
const SORTS_ON_USER: ReadonlySet<KeySort> = new Set(["user", "role"]);

/**
 * ORDER BY for a sort. Every order ends in (created_at, id), so it is total (pages never overlap)
 * and exactly reversible, and each matches one index read forwards or backwards (db/schema.ts).
 * A search is ordered the same way: with the trigram index the planner can tell a search matching
 * many keys (walk the order's index, filtering, and stop at the page) from one matching few (find
 * them through the indexes, then sort them).
 */
function orderOf(sort: KeySort, dir: "asc" | "desc"): SQL[] {
  const term = (column: SQL | AnyColumn, nulls?: "first" | "last"): SQL => {
    const expr = sql`${column}`;
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
    case "expiresAt":
      // Matches api_keys_expires_at_idx: soonest first and never-expiring last (PostgreSQL's
      // default for ascending), or its exact reverse.
      return [term(apiKeys.expiresAt), ...byCreated];
  }
}

async function countKeys(where: SQL | undefined): Promise<number> {
  const [row] = await db().select({ n: count() }).from(apiKeys).where(where);
  return row?.n ?? 0;
}

/** More rows than this in api_key_count and countAllKeys folds them into one. */
const KEY_COUNT_FOLD_AT = 100;

/**
 * Every key in the organisation, exactly and at once whatever their number: the sum of the
 * counter rows the triggers on api_keys write (migration 0007), not a count of a million keys.
 */
export async function countAllKeys(): Promise<number> {
  const [row] = await db()
    .select({ n: sql<number>`coalesce(sum(${apiKeyCount.delta}), 0)`.mapWith(Number), rows: count() })
    .from(apiKeyCount);
  if ((row?.rows ?? 0) > KEY_COUNT_FOLD_AT) await foldKeyCount();
  return row?.n ?? 0;
}

/**
 * Replaces the counter rows this transaction sees by their sum, in one statement. Rows added
 * meanwhile stay (they were not seen); two folds at once cannot take a row twice (the second
 * waits for the first's row locks, then skips the rows it deleted). Writers never wait on it: they only add rows.
 */
async function foldKeyCount(): Promise<void> {
  await db().execute(sql`
    with folded as (delete from ${apiKeyCount} returning ${apiKeyCount.delta})
    insert into ${apiKeyCount} (delta) select sum(delta) from folded having count(*) > 0`);
}

/**
 * How many keys a search shows as its total, exactly: past this, it shows "more than" it (counting
 * every one of tens of thousands of matches means reading each of their rows, 100-500 ms at a
 * million keys; counting up to this stops early).
 */
export const SEARCH_COUNT_LIMIT = 1000;

/**
 * Counts a search's keys up to `limit` (a LIMIT inside the count, so PostgreSQL stops there):
 * exact below it, "at least `limit`" at it.
 */
async function countKeysUpTo(where: SQL | undefined, limit: number): Promise<number> {
  const found = db()
    .select({ one: sql`1` })
    .from(apiKeys)
    .where(where)
    .limit(limit)
    .as("found");
  const [row] = await db().select({ n: count() }).from(found);
  return row?.n ?? 0;
}

/**
 * One page of rows. The subquery finds the page's ids reading index columns only (a "deferred
 * join"): a deep OFFSET skips index entries rather than whole rows, and the display columns are
 * read for the page's rows alone. `scan` is the direction the subquery reads in (see below).
 */
async function pageRows(
  query: AccessManagerQuery,
  where: SQL | undefined,
  moment: Moment,
  opts: { offset: number; limit: number; scan: "asc" | "desc" },
) {
  if (opts.limit <= 0) return [];
  const ids = idQuery(query, where)
    .orderBy(...orderOf(query.sort, opts.scan))
    .limit(opts.limit)
    .offset(opts.offset);
  return displayRows(query, inArray(apiKeys.id, ids), moment);
}

/** `select id from api_keys`, joined to users when the sort needs it. */
function idQuery(query: AccessManagerQuery, where: SQL | undefined) {
  const base = db().select({ id: apiKeys.id }).from(apiKeys);
  return (SORTS_ON_USER.has(query.sort) ? base.innerJoin(users, eq(users.id, apiKeys.userId)) : base).where(where).$dynamic();
}

async function displayRows(query: AccessManagerQuery, which: SQL, moment: Moment) {
  const rows = await db()
    .select(displayColumns)
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(which)
    .orderBy(...orderOf(query.sort, query.dir));
  return rows.map((row) => toRow(row, moment));
}

/**
 * A search's page and its total. The total is counted up to one row past this page and at least
 * SEARCH_COUNT_LIMIT: exact when the search matches fewer keys, otherwise "more than" what was
 * counted, with the pages counted so far and the next one (so Next always leads on). The page and
 * the count run side by side.
 */
async function searchPage(
  query: AccessManagerQuery,
  where: SQL | undefined,
  moment: Moment,
): Promise<{ total: number; totalExact: boolean; pageCount: number; rows: AdminKeyRow[] }> {
  const offset = (query.page - 1) * query.size;
  const limit = Math.max(SEARCH_COUNT_LIMIT, offset + query.size) + 1;
  const [counted, rows] = await Promise.all([
    countKeysUpTo(where, limit),
    pageRows(query, where, moment, { offset, limit: query.size, scan: query.dir }),
  ]);
  if (counted < limit) {
    const pageCount = Math.max(1, Math.ceil(counted / query.size));
    if (query.page > pageCount) {
      // Past the end (an old link): the count is exact here (it is below offset + size), so show
      // the last page instead.
      query.page = pageCount;
      return searchPage(query, where, moment);
    }
    return { total: counted, totalExact: true, pageCount, rows };
  }
  return { total: limit - 1, totalExact: false, pageCount: Math.ceil(limit / query.size), rows };
}

/** One page of every key in the organisation, sorted, filtered and searched in the database. */
export async function listApiKeysForAdmin(actor: Actor, input: AccessManagerQuery): Promise<AdminKeyPage> {
  requireManageAll(actor);
  // Parse again: the service trusts nothing about how its caller built the query.
  const query = accessManagerQuerySchema.parse(input);
  const [policy, search] = await Promise.all([readKeyPolicy(db()), resolveSearch(query)]);
  const moment: Moment = { now: new Date(), policy };
  const where = whereOf(query, moment, search);
  const size = query.size;

  if (query.q) {
    const found = await searchPage(query, where, moment);
    return { rows: found.rows, total: found.total, totalExact: found.totalExact, pageCount: found.pageCount, query, policy };
  }
  // No search or filter: the counter's exact total, at once. Filtered: a count (the filters are
  // ranges of their own indexes).
  const countAll = () => (where ? countKeys(where) : countAllKeys());
  let total: number;
  let rows: AdminKeyRow[];
  if (query.page === 1) {
    [total, rows] = await Promise.all([countAll(), pageRows(query, where, moment, { offset: 0, limit: size, scan: query.dir })]);
  } else {
    total = await countAll();
    query.page = Math.min(query.page, Math.max(1, Math.ceil(total / size)));
    const offset = (query.page - 1) * size;
    const limit = Math.min(size, total - offset);
    // Past the middle, read from the other end (the same order reversed, a smaller OFFSET); the
    // outer query puts the rows back in the asked order.
    rows =
      offset > total / 2
        ? await pageRows(query, where, moment, {
            offset: Math.max(0, total - offset - limit),
            limit,
            scan: query.dir === "asc" ? "desc" : "asc",
          })
        : await pageRows(query, where, moment, { offset, limit, scan: query.dir });
  }
  return { rows, total, totalExact: true, pageCount: Math.max(1, Math.ceil(total / size)), query, policy };
}

// ---------------------------------------------------------------------------------------------
// By cursor: the admin API's pages and the CSV export (SPEC §13)

/** A page of the Access Manager by cursor: the rows, and the cursor of the next page (null on the last). */
export interface AdminKeyCursorPage {
  rows: AdminKeyRow[];
  cursor: string | null;
}

const position = (values: readonly string[], column: SQL | AnyColumn) =>
  sql`array_position(array[${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )}]::text[], ${column}::text)`;

/**
 * The total order of each sort, as keyset terms: the sort's column(s), then (created_at, id). It is
 * the page's order (orderOf): enums in their declared order, never-used keys last when the most
 * recently used come first, keys that never expire last when the soonest come first.
 */
function keysetTerms(sort: KeySort): KeysetTerm[] {
  const created: KeysetTerm[] = [
    { expr: sql`${apiKeys.createdAt}`, type: "timestamptz" },
    { expr: sql`${apiKeys.id}`, type: "uuid" },
  ];
  const byUser: KeysetTerm[] = [
    { expr: sql`lower(${users.name})`, type: "text" },
    { expr: sql`${users.email}`, type: "text" },
    { expr: sql`${users.id}`, type: "uuid" },
  ];
  switch (sort) {
    case "createdAt":
      return created;
    case "name":
      return [{ expr: sql`${apiKeys.nameLower}`, type: "text" }, ...created];
    case "accessLevel":
      return [{ expr: position(ACCESS_LEVELS, apiKeys.accessLevel), type: "int" }, ...created];
    case "status":
      return [{ expr: position(KEY_STATUSES, apiKeys.status), type: "int" }, ...created];
    case "user":
      return [...byUser, ...created];
    case "role":
      return [{ expr: position(ROLES, users.role), type: "int" }, ...byUser, ...created];
    case "lastUsedAt":
      return [{ expr: sql`coalesce(${apiKeys.lastUsedAt}, '-infinity'::timestamptz)`, type: "timestamptz" }, ...created];
    case "expiresAt":
      return [{ expr: sql`coalesce(${apiKeys.expiresAt}, 'infinity'::timestamptz)`, type: "timestamptz" }, ...created];
  }
}

const orderName = (query: AccessManagerQuery) => `keys:${query.sort}:${query.dir}`;

/**
 * One page of the Access Manager's keys, by cursor: the same filters, search and order as the page
 * (listApiKeysForAdmin), read with keyset pagination. Owners and Admins, in the browser or through
 * any of their keys.
 */
export async function listApiKeysForAdminByCursor(
  actor: Actor,
  input: AccessManagerQuery,
  opts: { cursor?: string; limit: number },
): Promise<AdminKeyCursorPage> {
  requireManageAllAnywhere(actor);
  const query = accessManagerQuerySchema.parse(input);
  const terms = keysetTerms(query.sort);
  const after = opts.cursor ? decodeCursor(opts.cursor, orderName(query), terms) : null;
  const [policy, search] = await Promise.all([readKeyPolicy(db()), resolveSearch(query)]);
  return keysetPage(query, { now: new Date(), policy }, search, terms, after, opts.limit);
}

async function keysetPage(
  query: AccessManagerQuery,
  moment: Moment,
  search: Search | undefined,
  terms: KeysetTerm[],
  after: string[] | null,
  limit: number,
): Promise<AdminKeyCursorPage> {
  const rows = await db()
    .select({ ...displayColumns, keyset: keysetValues(terms) })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(whereOf(query, moment, search), after ? keysetAfter(terms, query.dir, after) : undefined))
    .orderBy(...keysetOrder(terms, query.dir))
    .limit(limit + 1);
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((row) => toRow(row, moment)),
    cursor: more && last ? encodeCursor(orderName(query), last.keyset) : null,
  };
}

/**
 * Every key matching the Access Manager's filters, in its order, a batch at a time (keyset, so
 * memory holds one batch whatever the total): what the CSV export streams.
 */
export async function* eachApiKeyForAdmin(actor: Actor, input: AccessManagerQuery, batchSize = 1000): AsyncGenerator<AdminKeyRow[]> {
  requireManageAllAnywhere(actor);
  const query = accessManagerQuerySchema.parse(input);
  const terms = keysetTerms(query.sort);
  const [policy, search] = await Promise.all([readKeyPolicy(db()), resolveSearch(query)]);
  const moment: Moment = { now: new Date(), policy };
  let after: string[] | null = null;
  for (;;) {
    const page = await keysetPage(query, moment, search, terms, after, batchSize);
    if (page.rows.length) yield page.rows;
    if (!page.cursor) return;
    after = decodeCursor(page.cursor, orderName(query), terms);
  }
}

/** One key as the Access Manager shows it (the admin API's answer to a change). */
export async function getApiKeyForAdmin(actor: Actor, id: string): Promise<AdminKeyRow> {
  requireManageAllAnywhere(actor);
  if (!isUuid(id)) throw notFound(KEY_NOT_FOUND);
  const [row] = await db().select(displayColumns).from(apiKeys).innerJoin(users, eq(users.id, apiKeys.userId)).where(eq(apiKeys.id, id));
  if (!row) throw notFound(KEY_NOT_FOUND);
  return toRow(row, { now: new Date(), policy: await readKeyPolicy(db()) });
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
  requireManageAllAnywhere(actor, true);
  return db().transaction((tx) => setStatusInTx(tx, actor, id, status));
}

/** One key's status change in the caller's transaction: the single and the bulk actions share it. */
async function setStatusInTx(tx: DbOrTx, actor: Actor, id: string, status: KeyStatus): Promise<{ name: string; status: KeyStatus }> {
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
}

/** Deletes any key, permanently. */
export async function deleteApiKeyAsAdmin(actor: Actor, id: string): Promise<{ name: string }> {
  requireManageAllAnywhere(actor, true);
  return db().transaction((tx) => deleteInTx(tx, actor, id));
}

/** One key's deletion in the caller's transaction: the single and the bulk actions share it. */
async function deleteInTx(tx: DbOrTx, actor: Actor, id: string): Promise<{ name: string }> {
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
}

/** What a bulk action did: the keys it acted on, and the ids of those that were gone (deleted meanwhile). */
export interface BulkResult {
  done: { id: string; name: string }[];
  missing: string[];
}

/**
 * Runs `each` on every selected key in one transaction (all or nothing), in id order so that two
 * bulk actions lock rows in the same order. A key deleted since the page showed it is reported
 * as missing and the rest go ahead; any other refusal undoes the lot.
 */
async function bulk(actor: Actor, input: unknown, each: (tx: DbOrTx, id: string) => Promise<{ name: string }>): Promise<BulkResult> {
  requireManageAll(actor, true);
  const parsed = bulkKeyIdsSchema.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error.issues[0]?.message ?? "Select the keys to change.", "ids");
  const ids = [...new Set(parsed.data.ids.map((id) => id.toLowerCase()))].sort();
  return db().transaction(async (tx) => {
    const result: BulkResult = { done: [], missing: [] };
    for (const id of ids) {
      try {
        const { name } = await each(tx, id);
        result.done.push({ id, name });
      } catch (error) {
        // anyKeyForUpdate found no row: no statement failed, so the transaction goes on.
        if (error instanceof ServiceError && error.code === "not_found") result.missing.push(id);
        else throw error;
      }
    }
    return result;
  });
}

/** Disable selected: each key as setApiKeyStatusAsAdmin disables it (audited and notified per key), in one transaction. */
export function disableApiKeysAsAdmin(actor: Actor, input: { ids: string[] }): Promise<BulkResult> {
  return bulk(actor, input, (tx, id) => setStatusInTx(tx, actor, id, "disabled"));
}

/** Delete selected: each key as deleteApiKeyAsAdmin deletes it (audited and notified per key), in one transaction. */
export function deleteApiKeysAsAdmin(actor: Actor, input: { ids: string[] }): Promise<BulkResult> {
  return bulk(actor, input, (tx, id) => deleteInTx(tx, actor, id));
}

const NOT_A_SERVICE_ACCOUNT = "Service account not found.";

/**
 * Access Manager's Add API Key: an Owner or Admin creates a key held by a service account
 * (SPEC §12). The same rules as a person's own new key (the holder's role decides the levels,
 * the organisation's policy the expiry, names are unique per holder); the secret is returned this
 * once, and the audit row names the admin as actor and the service account as the key's holder.
 */
export async function createApiKeyForServiceAccount(
  actor: Actor,
  accountId: string,
  input: CreateApiKeyInput,
): Promise<{ key: ApiKeyDto; secret: string; account: { id: string; name: string } }> {
  requireManageAll(actor, true);
  if (!isUuid(accountId)) throw notFound(NOT_A_SERVICE_ACCOUNT);
  try {
    return await db().transaction(async (tx) => {
      // Share-locked as createApiKey does: a concurrent role change of the account waits or is seen.
      const [account] = await tx
        .select({ id: users.id, name: users.name, role: users.role })
        .from(users)
        .where(and(eq(users.id, accountId), eq(users.kind, "service_account")))
        .for("share")
        .limit(1);
      if (!account) throw notFound(NOT_A_SERVICE_ACCOUNT);
      if (!allowedAccessLevels(account.role).includes(input.access_level)) {
        throw new ServiceError("forbidden", `${account.name} is Read-only: it can only hold Read-only keys.`, "access_level");
      }
      const created = await insertKeyInTx(tx, actor, account.id, input, {
        by_admin: true,
        key_owner: account.name,
        service_account_id: account.id,
      });
      return { ...created, account: { id: account.id, name: account.name } };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict("This service account already has an API key with this name.", "name");
    throw error;
  }
}
