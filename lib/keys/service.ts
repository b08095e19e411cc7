import { randomUUID, timingSafeEqual } from "node:crypto";
import { and, asc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { db } from "@/lib/runtime";
import { isUuid } from "@/db/sql";
import { apiKeys, users, type ApiKey, type KeyStatus } from "@/db/schema";
import { recordAudit, type AuditAction } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { allowedAccessLevels, can } from "@/lib/auth/permissions";
import { keyring } from "@/lib/runtime";
import { conflict, forbidden, notFound, ServiceError } from "@/lib/errors";
import { logError } from "@/lib/log";
import type { CreateApiKeyInput, RevealPurpose } from "@/lib/validation/keys";
import { digestApiKey, openSecret, sealSecret } from "./crypto";
import { displayParts, generateApiKey, isWellFormedApiKey } from "./format";
import { toKeyDto, type ApiKeyDto } from "./dto";
import { KEY_LOCKED_MESSAGE, KEY_NOT_FOUND } from "./messages";
import { keyCache } from "@/lib/runtime";
import type { CachedKey, KeyVerificationCache } from "./cache";
import { announceKeyChange } from "./revocation";

const DUPLICATE_NAME = "You already have an API key with this name.";

const NO_KEYS_FOR_ROLE = "Your role (Lite) cannot have API keys.";
/** Reading one's own keys: any role that may hold keys, through any transport. */
const readOwnKeys = (actor: Actor) => authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE });
/** Changing one's own keys: through an API key, only a Read & Write key. */
const changeOwnKeys = (actor: Actor) => authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE, write: true });

function isUniqueViolation(error: unknown): boolean {
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

function newSecretColumns(id: string) {
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
  const rows = await db().select().from(apiKeys).where(eq(apiKeys.userId, actor.userId)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  return rows.map(toKeyDto);
}

export interface KeyPage {
  entries: ApiKeyDto[];
  hasMore: boolean;
  cursor: string | null;
}

function encodeCursor(row: ApiKey): string {
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

/** The actor's keys, oldest first, a page at a time (for the API). */
export async function listOwnApiKeysPage(actor: Actor, opts: { cursor?: string; limit: number }): Promise<KeyPage> {
  if (!can(actor.role, "keys.own")) return { entries: [], hasMore: false, cursor: null };
  const after = opts.cursor ? decodeCursor(opts.cursor) : null;
  const rows = await db()
    .select()
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.userId, actor.userId),
        after
          ? // PostgreSQL keeps microseconds, the cursor milliseconds: take the exact time from the
            // cursor's row while it exists.
            sql`(${apiKeys.createdAt}, ${apiKeys.id}) > (
              coalesce((select k.created_at from api_keys k where k.id = ${after.id}::uuid), ${after.createdAt.toISOString()}::timestamptz),
              ${after.id}::uuid
            )`
          : undefined,
      ),
    )
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
    .limit(opts.limit + 1);
  const hasMore = rows.length > opts.limit;
  const page = rows.slice(0, opts.limit);
  return { entries: page.map(toKeyDto), hasMore, cursor: hasMore ? encodeCursor(page[page.length - 1]!) : null };
}

export async function getOwnApiKey(actor: Actor, id: string): Promise<ApiKeyDto> {
  readOwnKeys(actor);
  if (!isUuid(id)) throw notFound(KEY_NOT_FOUND);
  const [row] = await db()
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, actor.userId)))
    .limit(1);
  if (!row) throw notFound(KEY_NOT_FOUND);
  return toKeyDto(row);
}

/** Creates a key; the full secret is returned this once (and by reveal, to its owner only). */
export async function createApiKey(actor: Actor, input: CreateApiKeyInput): Promise<{ key: ApiKeyDto; secret: string }> {
  changeOwnKeys(actor);
  if (!allowedAccessLevels(actor.role).includes(input.access_level)) {
    throw new ServiceError("forbidden", "Your role (Read-only) can only create Read-only keys.", "access_level");
  }
  const id = randomUUID();
  const { secret, columns } = newSecretColumns(id);
  try {
    return await db().transaction(async (tx) => {
      // Re-read the role under a share lock: a concurrent downgrade (which locks the user row for
      // update) either finishes first and is seen here, or waits and then sees this key.
      const [owner] = await tx.select({ role: users.role }).from(users).where(eq(users.id, actor.userId)).for("share").limit(1);
      if (!owner || !allowedAccessLevels(owner.role).includes(input.access_level)) {
        throw new ServiceError("forbidden", "Your role no longer allows this access level.", "access_level");
      }
      const [row] = await tx
        .insert(apiKeys)
        .values({ id, userId: actor.userId, name: input.name, accessLevel: input.access_level, ...columns })
        .returning();
      if (!row) throw new Error("insert returned no row");
      await recordAudit(tx, actor, {
        action: "api_key.created",
        targetType: "api_key",
        targetId: id,
        targetLabel: input.name,
        metadata: { access_level: input.access_level },
      });
      return { key: toKeyDto(row), secret };
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
  authorize(actor, "keys.own", { message: NO_KEYS_FOR_ROLE, browserOnly: "Secrets are only shown in the browser." });
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

export async function renameApiKey(actor: Actor, id: string, name: string): Promise<ApiKeyDto> {
  changeOwnKeys(actor);
  try {
    return await db().transaction(async (tx) => toKeyDto(await renameInTx(tx, actor, await ownKeyForUpdate(tx, actor, id), name)));
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(DUPLICATE_NAME, "name");
    throw error;
  }
}

/** Gives the key a new secret at once; the old one stops working. Name, level and id stay. */
export async function regenerateApiKey(actor: Actor, id: string): Promise<{ key: ApiKeyDto; secret: string }> {
  changeOwnKeys(actor);
  return db().transaction(async (tx) => {
    const row = await ownKeyForUpdate(tx, actor, id);
    const { secret, columns } = newSecretColumns(id);
    const [updated] = await tx
      .update(apiKeys)
      .set({ ...columns, updatedAt: new Date(), lastUsedAt: null, lastUsedIp: null })
      .where(eq(apiKeys.id, id))
      .returning();
    await announceKeyChange(tx, { keyIds: [id] });
    await recordAudit(tx, actor, { action: "api_key.regenerated", targetType: "api_key", targetId: id, targetLabel: row.name });
    return { key: toKeyDto(updated!), secret };
  });
}

async function setStatusInTx(tx: DbOrTx, actor: Actor, row: ApiKey, status: KeyStatus): Promise<ApiKey> {
  if (row.status === status) return row;
  // SPEC §10's admin lock: a key someone else disabled is enabled again by an Owner or another
  // Admin (lib/keys/admin.ts), never by its holder, unless the holder is an Owner.
  if (status === "active" && row.disabledByAdmin && actor.role !== "owner") {
    throw forbidden(KEY_LOCKED_MESSAGE);
  }
  const [updated] = await tx
    .update(apiKeys)
    .set({ status, disabledByAdmin: false, disabledBy: status === "disabled" ? actor.userId : null, updatedAt: new Date() })
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

/** Name and status together (PATCH /api/v1/api_keys/{id}): all or nothing, each change audited. */
export async function updateOwnApiKey(actor: Actor, id: string, changes: { name?: string; status?: KeyStatus }): Promise<ApiKeyDto> {
  changeOwnKeys(actor);
  try {
    return await db().transaction(async (tx) => {
      let row = await ownKeyForUpdate(tx, actor, id);
      if (changes.name !== undefined) row = await renameInTx(tx, actor, row, changes.name);
      if (changes.status !== undefined) row = await setStatusInTx(tx, actor, row, changes.status);
      return toKeyDto(row);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(DUPLICATE_NAME, "name");
    throw error;
  }
}

export async function deleteApiKey(actor: Actor, id: string): Promise<void> {
  changeOwnKeys(actor);
  await db().transaction(async (tx) => {
    const row = await ownKeyForUpdate(tx, actor, id);
    await tx.delete(apiKeys).where(eq(apiKeys.id, id));
    await announceKeyChange(tx, { keyIds: [id] });
    await recordAudit(tx, actor, { action: "api_key.deleted", targetType: "api_key", targetId: id, targetLabel: row.name });
  });
}

export interface AuthenticatedKey extends CachedKey {
  key: ApiKeyDto;
}

const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Verifies a key presented to the API: the checksum first (a look-alike never reaches the
 * database), then the verification cache, then one indexed lookup by HMAC digest. Only an active
 * key of a user whose role allows its level passes. The result is shared with the cache: read it,
 * never change it.
 */
export async function authenticateApiKey(
  raw: string,
  ip: string | null,
  options: { cache?: KeyVerificationCache } = {},
): Promise<AuthenticatedKey | null> {
  if (!isWellFormedApiKey(raw)) return null;
  const digest = digestApiKey(raw, keyring());
  const cache = options.cache ?? keyCache();
  const now = Date.now();
  let found = cache.get(digest, now);
  if (!found) {
    // Taken before the lookup: any invalidation meanwhile makes set() drop this result.
    const generation = cache.generation;
    const [row] = await db()
      .select({ key: apiKeys, user: { id: users.id, email: users.email, name: users.name, role: users.role } })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(eq(apiKeys.digest, digest))
      .limit(1);
    // The index found it by digest; compare again in constant time before trusting it.
    if (!row || !timingSafeEqual(Buffer.from(row.key.digest), Buffer.from(digest))) return null;
    if (row.key.status !== "active" || !allowedAccessLevels(row.user.role).includes(row.key.accessLevel)) return null;
    found = { key: toKeyDto(row.key), user: row.user };
    cache.set(digest, found, generation, now);
  }
  await touchLastUsed(found, digest, ip, now);
  return found as AuthenticatedKey;
}

/**
 * Keeps `last_used_at` (and its IP) current to the minute: at most one write per key per minute
 * per instance, and the WHERE clause makes it a no-op when another instance wrote within the
 * minute. The in-memory time is claimed first, so concurrent requests do not write twice.
 */
async function touchLastUsed(found: CachedKey, digest: string, ip: string | null, now: number): Promise<void> {
  const last = found.key.lastUsedAt;
  if (last && now - last.getTime() < LAST_USED_RESOLUTION_MS) return;
  const at = new Date(now);
  found.key.lastUsedAt = at;
  try {
    await db()
      .update(apiKeys)
      .set({ lastUsedAt: at, lastUsedIp: ip })
      .where(
        and(
          eq(apiKeys.id, found.key.id),
          eq(apiKeys.digest, digest),
          or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now - LAST_USED_RESOLUTION_MS))),
        ),
      );
  } catch (error) {
    // Usage bookkeeping never fails the request it describes.
    // Never the error's message: a failed query's holds its parameters, the key's digest among them.
    logError("could not record last use of an API key", error);
  }
}
