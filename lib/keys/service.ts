import { randomUUID, timingSafeEqual } from "node:crypto";
import { and, asc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database, DbOrTx } from "@/db/client";
import { prepared, preparedRows } from "@/db/prepared";
import { whenReady, type MaybePromise } from "@/lib/maybe-promise";
import { db } from "@/lib/runtime";
import { isUuid } from "@/db/sql";
import { apiKeys, users, type ApiKey, type KeyStatus } from "@/db/schema";
import { recordAudit, type AuditAction } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { allowedAccessLevels, can } from "@/lib/auth/permissions";
import { keyring } from "@/lib/runtime";
import { conflict, forbidden, invalid, notFound, ServiceError } from "@/lib/errors";
import { logError } from "@/lib/log";
import { readKeyPolicy } from "@/lib/settings/policy";
import type { CreateApiKeyInput, RegenerateApiKeyInput, RevealPurpose } from "@/lib/validation/keys";
import { digestApiKey, openSecret, sealSecret } from "./crypto";
import { DigestMemo } from "./digest-memo";
import { displayParts, generateApiKey } from "./format";
import { toKeyDto, type ApiKeyDto, type KeyDtoSource } from "./dto";
import { checkExpiry, expiryProblemMessage, isExpired, latestAllowedExpiry } from "./expiry";
import { KEY_LOCKED_MESSAGE, KEY_NOT_FOUND } from "./messages";
import { keyCache } from "@/lib/runtime";
import type { CachedKey, KeyVerificationCache } from "./cache";
import { announceKeyChange } from "./revocation";

const DUPLICATE_NAME = "You already have an API key with this name.";

const NO_KEYS_FOR_ROLE = "Your role (Lite) cannot have API keys.";
export const NO_PREVIOUS_SECRET = "This key has no previous secret that still works.";
const EXPIRED_NEEDS_EXPIRY = "This key has expired: choose a new expiration to regenerate it.";
const GRACE_FOR_DISABLED =
  "This key is disabled, so its old secret does not work and cannot keep working: regenerate it without a grace period.";
const GRACE_FOR_EXPIRED =
  "This key has expired, so its old secret does not work and cannot keep working: regenerate it without a grace period.";

/**
 * The expiry a new or regenerated key gets: the one asked for, checked against the organisation's
 * policy; left out, the policy's longest lifetime (or none without a policy).
 */
async function resolveExpiry(tx: DbOrTx, asked: Date | null | undefined, now: Date): Promise<Date | null> {
  const { maxKeyLifetimeDays } = await readKeyPolicy(tx);
  if (asked === undefined) return latestAllowedExpiry(maxKeyLifetimeDays, now);
  const problem = checkExpiry(asked, maxKeyLifetimeDays, now);
  if (problem) throw invalid(expiryProblemMessage(problem, maxKeyLifetimeDays), "expires_at");
  return asked;
}
/** Reading one's own keys: any role that may hold keys, through any transport. */
const readOwnKeys = (actor: Actor) => authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE });
/** Changing one's own keys: through an API key, only a Read & Write key. */
const changeOwnKeys = (actor: Actor) => authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE, write: true });
/** Regenerate and Delete: in the browser, only within Confirm it's you's window (SPEC §12). */
const changeOwnKeysSensitively = (actor: Actor) => authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE, write: true, recent: true });

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code === "23505";
}

/** The actor's own key, locked for the transaction; another user's key id is simply "not found". */
async function ownKeyForUpdate(tx: DbOrTx, actor: Actor, id: string): Promise<ApiKey> {
  if (!isUuid(id)) throw notFound(KEY_NOT_FOUND);
  const [row] = await tx
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, actor.userId)))
    .for("update")
    .limit(1);
  if (!row) throw notFound(KEY_NOT_FOUND);
  return row;
}

export function newSecretColumns(id: string) {
  const ring = keyring();
  const secret = generateApiKey();
  const sealed = sealSecret(secret, id, ring);
  const { prefix, last4 } = displayParts(secret);
  return {
    secret,
    columns: {
      secretCiphertext: sealed.ciphertext,
      secretNonce: sealed.nonce,
      keyVersion: sealed.version,
      digest: digestApiKey(secret, ring),
      prefix,
      last4,
    },
  };
}

export async function listOwnApiKeys(actor: Actor): Promise<ApiKeyDto[]> {
  if (!can(actor.role, "keys.own")) return [];
  const rows = await db()
    .select(keyDtoColumns)
    .from(apiKeys)
    .where(eq(apiKeys.userId, actor.userId))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  return rows.map(toKeyDto);
}

export interface KeyPage {
  entries: ApiKeyDto[];
  hasMore: boolean;
  cursor: string | null;
}

function encodeCursor(row: Pick<ApiKey, "createdAt" | "id">): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  const createdAt = new Date(at ?? "");
  if (!id || !isUuid(id) || Number.isNaN(createdAt.getTime())) {
    throw new ServiceError("invalid", "The cursor is not valid; use the one a previous page returned.", "cursor");
  }
  return { createdAt, id };
}

/** What a key's DTO needs, and nothing secret: reads for display select these, never the whole row. */
export const keyDtoColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  description: apiKeys.description,
  accessLevel: apiKeys.accessLevel,
  status: apiKeys.status,
  prefix: apiKeys.prefix,
  last4: apiKeys.last4,
  createdAt: apiKeys.createdAt,
  expiresAt: apiKeys.expiresAt,
  lastUsedAt: apiKeys.lastUsedAt,
  lastUsedIp: apiKeys.lastUsedIp,
  previousExpiresAt: apiKeys.previousExpiresAt,
  disabledByAdmin: apiKeys.disabledByAdmin,
  disabledReason: apiKeys.disabledReason,
} satisfies Record<keyof KeyDtoSource, unknown>;

/**
 * GET /api_keys's two queries, prepared once per database (db/prepared.ts): the API's busiest
 * query after the key lookup, and its SQL text never changes. After a cursor, PostgreSQL keeps
 * microseconds and the cursor milliseconds: the exact time comes from the cursor's row while it
 * exists.
 */
const afterId = sql.placeholder("afterId");
const afterAt = sql.placeholder("afterAt");
const ownKeysPage = (database: Database, after: boolean) =>
  preparedRows(database, after ? "own-keys-after" : "own-keys-first", keyDtoColumns, (database, columns) =>
    database
      .select(columns)
      .from(apiKeys)
      .where(
        and(
          eq(apiKeys.userId, sql.placeholder("userId")),
          after
            ? sql`(${apiKeys.createdAt}, ${apiKeys.id}) > (
                coalesce((select k.created_at from api_keys k where k.id = ${afterId}::uuid), ${afterAt}::timestamptz),
                ${afterId}::uuid
              )`
            : undefined,
        ),
      )
      .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
      .limit(sql.placeholder("limit")),
  );

/** The actor's keys, oldest first, a page at a time (for the API). */
export async function listOwnApiKeysPage(actor: Actor, opts: { cursor?: string; limit: number }): Promise<KeyPage> {
  if (!can(actor.role, "keys.own")) return { entries: [], hasMore: false, cursor: null };
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const rows = await ownKeysPage(db(), after !== null).execute({
    userId: actor.userId,
    limit: opts.limit + 1,
    ...(after ? { afterId: after.id, afterAt: after.createdAt.toISOString() } : {}),
  });
  const hasMore = rows.length > opts.limit;
  const page = rows.slice(0, opts.limit);
  return { entries: page.map(toKeyDto), hasMore, cursor: hasMore ? encodeCursor(page[page.length - 1]!) : null };
}

export async function getOwnApiKey(actor: Actor, id: string): Promise<ApiKeyDto> {
  readOwnKeys(actor);
  if (!isUuid(id)) throw notFound(KEY_NOT_FOUND);
  const [row] = await db()
    .select(keyDtoColumns)
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, actor.userId)))
    .limit(1);
  if (!row) throw notFound(KEY_NOT_FOUND);
  return toKeyDto(row);
}

/**
 * Inserts a new key held by `holderId`, its expiry checked against the organisation's policy, and
 * audits it (with `metadata` beside the level and expiry). The caller has checked, under a share
 * lock on the holder's row, that the holder's role allows the level. A duplicate name is the
 * caller's to word (isUniqueViolation).
 */
export async function insertKeyInTx(
  tx: DbOrTx,
  actor: Actor,
  holderId: string,
  input: CreateApiKeyInput,
  metadata: Record<string, unknown> = {},
): Promise<{ key: ApiKeyDto; secret: string }> {
  const id = randomUUID();
  const { secret, columns } = newSecretColumns(id);
  const now = new Date();
  const expiresAt = await resolveExpiry(tx, input.expires_at, now);
  const [row] = await tx
    .insert(apiKeys)
    .values({
      id,
      userId: holderId,
      name: input.name,
      description: input.description ?? null,
      accessLevel: input.access_level,
      expiresAt,
      activeSince: now,
      ...columns,
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  await recordAudit(tx, actor, {
    action: "api_key.created",
    targetType: "api_key",
    targetId: id,
    targetLabel: input.name,
    metadata: { access_level: input.access_level, expires_at: expiresAt?.toISOString() ?? null, ...metadata },
  });
  return { key: toKeyDto(row), secret };
}

/** Creates a key; the full secret is returned this once (and by reveal, to its owner only). */
export async function createApiKey(actor: Actor, input: CreateApiKeyInput): Promise<{ key: ApiKeyDto; secret: string }> {
  changeOwnKeys(actor);
  if (!allowedAccessLevels(actor.role).includes(input.access_level)) {
    throw new ServiceError("forbidden", "Your role (Read-only) can only create Read-only keys.", "access_level");
  }
  try {
    return await db().transaction(async (tx) => {
      // Re-read the role under a share lock: a concurrent downgrade (which locks the user row for
      // update) either finishes first and is seen here, or waits and then sees this key.
      const [owner] = await tx.select({ role: users.role }).from(users).where(eq(users.id, actor.userId)).for("share").limit(1);
      if (!owner || !allowedAccessLevels(owner.role).includes(input.access_level)) {
        throw new ServiceError("forbidden", "Your role no longer allows this access level.", "access_level");
      }
      return insertKeyInTx(tx, actor, actor.userId, input);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(DUPLICATE_NAME, "name");
    throw error;
  }
}

const REVEAL_ACTIONS: Record<RevealPurpose, AuditAction> = {
  reveal: "api_key.revealed",
  copy: "api_key.copied",
  qr: "api_key.qr_viewed",
};

/** The full secret of one of the actor's own keys, audited as a reveal, a copy or a QR view. */
export async function revealApiKey(actor: Actor, id: string, purpose: RevealPurpose): Promise<string> {
  authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE, browserOnly: "Secrets are only shown in the browser.", recent: true });
  return db().transaction(async (tx) => {
    const row = await ownKeyForUpdate(tx, actor, id);
    const secret = openSecret({ ciphertext: row.secretCiphertext, nonce: row.secretNonce, version: row.keyVersion }, row.id, keyring());
    await recordAudit(tx, actor, { action: REVEAL_ACTIONS[purpose], targetType: "api_key", targetId: row.id, targetLabel: row.name });
    return secret;
  });
}

async function renameInTx(tx: DbOrTx, actor: Actor, row: ApiKey, name: string): Promise<ApiKey> {
  if (row.name === name) return row;
  const [updated] = await tx.update(apiKeys).set({ name, updatedAt: new Date() }).where(eq(apiKeys.id, row.id)).returning();
  await announceKeyChange(tx, { keyIds: [row.id] });
  await recordAudit(tx, actor, {
    action: "api_key.renamed",
    targetType: "api_key",
    targetId: row.id,
    targetLabel: name,
    metadata: { from: row.name, to: name },
  });
  return updated!;
}

async function describeInTx(tx: DbOrTx, actor: Actor, row: ApiKey, description: string | null): Promise<ApiKey> {
  if (row.description === description) return row;
  const [updated] = await tx.update(apiKeys).set({ description, updatedAt: new Date() }).where(eq(apiKeys.id, row.id)).returning();
  await recordAudit(tx, actor, {
    action: "api_key.described",
    targetType: "api_key",
    targetId: row.id,
    targetLabel: row.name,
    metadata: { length: description?.length ?? 0 },
  });
  return updated!;
}

export async function renameApiKey(actor: Actor, id: string, name: string): Promise<ApiKeyDto> {
  changeOwnKeys(actor);
  try {
    return await db().transaction(async (tx) => toKeyDto(await renameInTx(tx, actor, await ownKeyForUpdate(tx, actor, id), name)));
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(DUPLICATE_NAME, "name");
    throw error;
  }
}

/**
 * Gives the key a new secret. Name, level and id stay. With a grace period the old secret keeps
 * working until then (answers to it carry a Sunset header); without one it stops at once, as does
 * any earlier previous secret. An expired key needs a new expiry, which makes it work again.
 */
export async function regenerateApiKey(
  actor: Actor,
  id: string,
  options: Partial<RegenerateApiKeyInput> = {},
): Promise<{ key: ApiKeyDto; secret: string; previousSecretExpiresAt: Date | null }> {
  changeOwnKeysSensitively(actor);
  return db().transaction(async (tx) => {
    const row = await ownKeyForUpdate(tx, actor, id);
    const now = new Date();
    const expired = isExpired(row.expiresAt, now);
    if (expired && options.expires_at === undefined) throw invalid(EXPIRED_NEEDS_EXPIRY, "expires_at");
    const expiresAt = options.expires_at === undefined ? row.expiresAt : await resolveExpiry(tx, options.expires_at, now);
    const grace = options.grace_period_seconds ?? 0;
    // The old secret can only keep working if it works now: not for a disabled or expired key. A
    // grace period asked for one is refused, never silently dropped.
    if (grace > 0 && (row.status !== "active" || expired)) {
      throw conflict(row.status !== "active" ? GRACE_FOR_DISABLED : GRACE_FOR_EXPIRED, "grace_period_seconds");
    }
    const keepOld = grace > 0;
    const previousExpiresAt = keepOld ? new Date(now.getTime() + grace * 1000) : null;
    const { secret, columns } = newSecretColumns(id);
    const [updated] = await tx
      .update(apiKeys)
      .set({
        ...columns,
        previousDigest: keepOld ? row.digest : null,
        previousExpiresAt,
        expiresAt,
        updatedAt: now,
        lastUsedAt: null,
        lastUsedIp: null,
      })
      .where(eq(apiKeys.id, id))
      .returning();
    await announceKeyChange(tx, { keyIds: [id] });
    await recordAudit(tx, actor, {
      action: "api_key.regenerated",
      targetType: "api_key",
      targetId: id,
      targetLabel: row.name,
      metadata: {
        grace_period_seconds: keepOld ? grace : 0,
        ...(options.expires_at !== undefined ? { expires_at: expiresAt?.toISOString() ?? null } : {}),
      },
    });
    return { key: toKeyDto(updated!), secret, previousSecretExpiresAt: previousExpiresAt };
  });
}

/** Revoke old secret now: the previous secret of a regenerate stops working at once. */
export async function revokePreviousSecret(actor: Actor, id: string): Promise<ApiKeyDto> {
  changeOwnKeys(actor);
  return db().transaction(async (tx) => {
    const row = await ownKeyForUpdate(tx, actor, id);
    if (!row.previousDigest || !row.previousExpiresAt || row.previousExpiresAt <= new Date()) throw notFound(NO_PREVIOUS_SECRET);
    const [updated] = await tx
      .update(apiKeys)
      .set({ previousDigest: null, previousExpiresAt: null, updatedAt: new Date() })
      .where(eq(apiKeys.id, id))
      .returning();
    await announceKeyChange(tx, { keyIds: [id] });
    await recordAudit(tx, actor, { action: "api_key.previous_secret_revoked", targetType: "api_key", targetId: id, targetLabel: row.name });
    return toKeyDto(updated!);
  });
}

async function setStatusInTx(tx: DbOrTx, actor: Actor, row: ApiKey, status: KeyStatus): Promise<ApiKey> {
  if (row.status === status) return row;
  // SPEC §10's admin lock: a key someone else disabled is enabled again by an Owner or another
  // Admin (lib/keys/admin.ts), never by its holder, unless the holder is an Owner.
  if (status === "active" && row.disabledByAdmin && actor.role !== "owner") {
    throw forbidden(KEY_LOCKED_MESSAGE);
  }
  const now = new Date();
  const [updated] = await tx
    .update(apiKeys)
    .set({
      status,
      disabledByAdmin: false,
      disabledBy: status === "disabled" ? actor.userId : null,
      disabledReason: null,
      // Disabling ends a previous secret too; enabling restarts the unused-key clock.
      ...(status === "disabled" ? { previousDigest: null, previousExpiresAt: null } : { activeSince: now }),
      updatedAt: now,
    })
    .where(eq(apiKeys.id, row.id))
    .returning();
  await announceKeyChange(tx, { keyIds: [row.id] });
  await recordAudit(tx, actor, {
    action: status === "disabled" ? "api_key.disabled" : "api_key.enabled",
    targetType: "api_key",
    targetId: row.id,
    targetLabel: row.name,
  });
  return updated!;
}

/** Disable or enable one of the actor's own keys. A key an admin disabled stays disabled. */
export async function setOwnApiKeyStatus(actor: Actor, id: string, status: KeyStatus): Promise<ApiKeyDto> {
  changeOwnKeys(actor);
  return db().transaction(async (tx) => toKeyDto(await setStatusInTx(tx, actor, await ownKeyForUpdate(tx, actor, id), status)));
}

/**
 * Name, description and status together (PATCH /api/v1/api_keys/{id}, the Edit dialog): all or
 * nothing, each change audited.
 */
export async function updateOwnApiKey(
  actor: Actor,
  id: string,
  changes: { name?: string; description?: string | null; status?: KeyStatus },
): Promise<ApiKeyDto> {
  changeOwnKeys(actor);
  try {
    return await db().transaction(async (tx) => {
      let row = await ownKeyForUpdate(tx, actor, id);
      if (changes.name !== undefined) row = await renameInTx(tx, actor, row, changes.name);
      if (changes.description !== undefined) row = await describeInTx(tx, actor, row, changes.description);
      if (changes.status !== undefined) row = await setStatusInTx(tx, actor, row, changes.status);
      return toKeyDto(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(DUPLICATE_NAME, "name");
    throw error;
  }
}

/** Deletes one of the actor's own keys; returns its name (for the toast). */
export async function deleteApiKey(actor: Actor, id: string): Promise<{ name: string }> {
  changeOwnKeysSensitively(actor);
  return db().transaction(async (tx) => {
    const row = await ownKeyForUpdate(tx, actor, id);
    await tx.delete(apiKeys).where(eq(apiKeys.id, id));
    await announceKeyChange(tx, { keyIds: [id] });
    await recordAudit(tx, actor, { action: "api_key.deleted", targetType: "api_key", targetId: id, targetLabel: row.name });
    return { name: row.name };
  });
}

export interface AuthenticatedKey extends CachedKey {
  key: ApiKeyDto;
}

/** What verifying a presented key found: a working key, or why it is refused. */
export type Verification = { ok: true; found: AuthenticatedKey } | { ok: false; reason: "invalid" | "expired" };

/**
 * Why a presented key does not work, in POST /api/v1/verify's words: not shaped like a key (its
 * checksum fails), no such key (unknown, deleted, or a regenerated key's previous secret past its
 * grace period or revoked), disabled (or a level its holder's role no longer allows), or expired.
 */
export type KeyRefusal = "malformed" | "not_found" | "disabled" | "expired";

/** inspectApiKey's answer: verifyApiKey's, with the refusal's reason in detail. */
export type KeyInspection = { ok: true; found: AuthenticatedKey } | { ok: false; code: KeyRefusal };

const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Verifies a key presented to the API: the checksum first (a look-alike never reaches the
 * database), then the verification cache, then one indexed lookup by HMAC digest, of the current
 * secret or of a previous one still in its grace period. Only an active key of a user whose role
 * allows its level passes, and only before its expiry, checked on every request (cache hits too).
 * A key that passes counts as used (last used at and from where). The result is shared with the
 * cache: read it, never change it.
 *
 * Synchronous when it can be (lib/maybe-promise.ts): a cache hit whose last use needs no write
 * answers without a promise; a lookup or a write returns one.
 */
export function inspectApiKey(raw: string, ip: string | null, options: { cache?: KeyVerificationCache } = {}): MaybePromise<KeyInspection> {
  const digest = presentedKeyDigest(raw);
  return digest === null ? { ok: false, code: "malformed" } : inspectKeyDigest(digest, ip, options);
}

/**
 * The lookup digest of a presented key (HMAC-SHA256 under the server's key), or null when it is
 * not even shaped like one (its checksum fails): such a key is refused without a lookup.
 */
export function presentedKeyDigest(raw: string): string | null {
  return presentedDigests.digest(raw, keyring());
}

/** The digests of keys presented lately (lib/keys/digest-memo.ts): the HMAC is the hot path's dearest step. */
const presentedDigests = new DigestMemo();

/** inspectApiKey for a key already digested (presentedKeyDigest). */
export function inspectKeyDigest(
  digest: string,
  ip: string | null,
  options: { cache?: KeyVerificationCache } = {},
): MaybePromise<KeyInspection> {
  const cache = options.cache ?? keyCache();
  const now = Date.now();
  const cached = cache.get(digest, now);
  return cached ? checkFound(cached, digest, ip, now) : lookUpKey(digest, cache, ip, now);
}

/** The key with this digest (current secret, or previous), and its holder: prepared once (db/prepared.ts). */
const keyByDigest = (database: Database) =>
  prepared(database, "key-by-digest", () =>
    database
      .select({ key: apiKeys, user: { id: users.id, email: users.email, name: users.name, role: users.role, kind: users.kind } })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(or(eq(apiKeys.digest, sql.placeholder("digest")), eq(apiKeys.previousDigest, sql.placeholder("digest"))))
      .limit(1)
      .prepare("key_by_digest"),
  );

async function lookUpKey(digest: string, cache: KeyVerificationCache, ip: string | null, now: number): Promise<KeyInspection> {
  // Taken before the lookup: any invalidation meanwhile makes set() drop this result.
  const generation = cache.generation;
  const [row] = await keyByDigest(db()).execute({ digest });
  if (!row) return { ok: false, code: "not_found" };
  // The index found it by digest; compare again in constant time before trusting it.
  const current = timingSafeEqual(Buffer.from(row.key.digest), Buffer.from(digest));
  const previous = !current && row.key.previousDigest !== null && timingSafeEqual(Buffer.from(row.key.previousDigest), Buffer.from(digest));
  if (!current && !previous) return { ok: false, code: "not_found" };
  // A previous secret past its grace period is no key at all any more (the API's 401 says so too).
  if (previous && (!row.key.previousExpiresAt || row.key.previousExpiresAt.getTime() <= now)) return { ok: false, code: "not_found" };
  if (row.key.status !== "active" || !allowedAccessLevels(row.user.role).includes(row.key.accessLevel)) {
    return { ok: false, code: "disabled" };
  }
  const found: CachedKey = { key: toKeyDto(row.key), user: row.user, ...(previous ? { sunset: row.key.previousExpiresAt! } : {}) };
  cache.set(digest, found, generation, now);
  return checkFound(found, digest, ip, now);
}

/**
 * Checked on every request, from the cache too: an expiry or the end of a grace period needs no
 * invalidation to take effect. Then the use is recorded.
 */
function checkFound(found: CachedKey, digest: string, ip: string | null, now: number): MaybePromise<KeyInspection> {
  if (found.sunset && found.sunset.getTime() <= now) return { ok: false, code: "not_found" };
  if (isExpired(found.key.expiresAt, now)) return { ok: false, code: "expired" };
  const inspection: KeyInspection = { ok: true, found: found as AuthenticatedKey };
  const written = touchLastUsed(found, digest, ip, now);
  return written ? written.then(() => inspection) : inspection;
}

/** inspectApiKey, as the API's gate needs it: a working key, expired, or simply not valid. */
export function verifyApiKey(raw: string, ip: string | null, options: { cache?: KeyVerificationCache } = {}): MaybePromise<Verification> {
  return whenReady(inspectApiKey(raw, ip, options), (inspection): Verification => {
    if (inspection.ok) return inspection;
    return { ok: false, reason: inspection.code === "expired" ? "expired" : "invalid" };
  });
}

/** verifyApiKey, for callers that need only the key or nothing. */
export async function authenticateApiKey(
  raw: string,
  ip: string | null,
  options: { cache?: KeyVerificationCache } = {},
): Promise<AuthenticatedKey | null> {
  const verification = await verifyApiKey(raw, ip, options);
  return verification.ok ? verification.found : null;
}

/**
 * Keeps `last_used_at` (and its IP) current to the minute: at most one write per key per minute
 * per instance, and the WHERE clause makes it a no-op when another instance wrote within the
 * minute. The in-memory time is claimed first, so concurrent requests do not write twice.
 * Returns the write when one is due, nothing otherwise (the hot path stays synchronous).
 */
function touchLastUsed(found: CachedKey, digest: string, ip: string | null, now: number): Promise<void> | undefined {
  const last = found.key.lastUsedAt;
  if (last && now - last.getTime() < LAST_USED_RESOLUTION_MS) return undefined;
  const at = new Date(now);
  found.key.lastUsedAt = at;
  return db()
    .update(apiKeys)
    .set({ lastUsedAt: at, lastUsedIp: ip })
    .where(
      and(
        eq(apiKeys.id, found.key.id),
        or(eq(apiKeys.digest, digest), eq(apiKeys.previousDigest, digest)),
        or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now - LAST_USED_RESOLUTION_MS))),
      ),
    )
    .then(
      () => undefined,
      (error: unknown) => {
        // Usage bookkeeping never fails the request it describes.
        // Never the error's message: a failed query's holds its parameters, the key's digest among them.
        logError("could not record last use of an API key", error);
      },
    );
}
