import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  inet,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { ACCESS_LEVEL_VALUES, KEY_STATUS_VALUES, ROLE_VALUES, TWO_FACTOR_POLICY_VALUES, USER_KIND_VALUES } from "./enums";

export const roleEnum = pgEnum("role", ROLE_VALUES);
export const accessLevelEnum = pgEnum("access_level", ACCESS_LEVEL_VALUES);
export const keyStatusEnum = pgEnum("key_status", KEY_STATUS_VALUES);
export const userKindEnum = pgEnum("user_kind", USER_KIND_VALUES);
export const twoFactorPolicyEnum = pgEnum("two_factor_policy", TWO_FACTOR_POLICY_VALUES);

const createdAt = () => timestamp({ withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
  "users",
  {
    id: uuid().primaryKey().defaultRandom(),
    email: text().notNull(),
    name: text().notNull(),
    passwordHash: text().notNull(),
    role: roleEnum().notNull(),
    // SPEC §12: a service account holds keys and never signs in (its password hash opens nothing).
    kind: userKindEnum().notNull().default("person"),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("users_email_lower_idx").on(sql`lower(${t.email})`),
    // Exactly one Owner: a partial unique index makes a second one impossible.
    uniqueIndex("users_single_owner_idx")
      .on(t.role)
      .where(sql`${t.role} = 'owner'`),
    index("users_created_at_idx").on(t.createdAt),
    // The Access Manager sorts keys by their user (name, then email) and by role (then user): a
    // nested loop over these, with api_keys_user_created_idx inside, returns rows already ordered.
    index("users_name_email_idx").on(sql`lower(${t.name})`, t.email, t.id),
    index("users_role_name_email_idx").on(t.role, sql`lower(${t.name})`, t.email, t.id),
    // The Access Manager's search also matches holders' names and emails ("contains").
    index("users_name_trgm_idx").using("gin", sql`lower(${t.name}) gin_trgm_ops`),
    index("users_email_trgm_idx").using("gin", sql`lower(${t.email}) gin_trgm_ops`),
  ],
);

export const invites = pgTable(
  "invites",
  {
    id: uuid().primaryKey().defaultRandom(),
    // Only a digest of the token is stored; the link itself is shown once.
    tokenDigest: text().notNull(),
    email: text().notNull(),
    role: roleEnum().notNull(),
    invitedBy: uuid().references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    acceptedAt: timestamp({ withTimezone: true }),
    acceptedUserId: uuid().references(() => users.id, { onDelete: "set null" }),
  },
  (t) => [uniqueIndex("invites_token_digest_idx").on(t.tokenDigest), index("invites_email_idx").on(sql`lower(${t.email})`)],
);

// Sign-in sessions: the browser's cookie names a row here, and a request is signed in only while
// its row exists and has not expired. Signing out deletes the row; removing a user cascades.
export const sessions = pgTable(
  "sessions",
  {
    id: uuid().primaryKey().defaultRandom(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
    lastActiveAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    // SPEC §12's "Confirm it's you": the last sign-in or confirmation on this session.
    confirmedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    // SPEC §12: the password (or SSO) was right but the person has two-factor authentication and
    // has not yet given a code. Such a session signs nothing in; it only allows the second step.
    secondFactorPending: boolean().notNull().default(false),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    ip: inet(),
    // Truncated on insert: only a short readable device name is shown from it.
    userAgent: text(),
  },
  (t) => [index("sessions_user_created_idx").on(t.userId, t.createdAt), index("sessions_expires_at_idx").on(t.expiresAt)],
);

// SPEC §12: a person's TOTP secret (RFC 6238), sealed like API keys' secrets (lib/keys/crypto,
// kind "totp", the user id bound). enabledAt is null while set-up is in progress (the secret is
// shown but no code has confirmed it yet). lastUsedStep is the time step of the last accepted
// code: a code is never accepted twice.
export const userTwoFactor = pgTable("user_two_factor", {
  userId: uuid()
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  secretCiphertext: text().notNull(),
  secretNonce: text().notNull(),
  keyVersion: integer().notNull(),
  enabledAt: timestamp({ withTimezone: true }),
  lastUsedStep: bigint({ mode: "number" }),
  createdAt: createdAt(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

// SPEC §12: a person's recovery codes, only as digests; each works once (usedAt).
export const recoveryCodes = pgTable(
  "recovery_codes",
  {
    id: uuid().primaryKey().defaultRandom(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeDigest: text().notNull(),
    usedAt: timestamp({ withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("recovery_codes_user_digest_idx").on(t.userId, t.codeDigest)],
);

// Failed sign-ins and password changes, per limited key ("sign_in:pair:<email> <ip>",
// "sign_in:ip:<ip>", ...): what lib/auth/throttle.ts needs to slow them down. Rows of keys
// that have been quiet for the reset period are pruned.
export const authThrottle = pgTable(
  "auth_throttle",
  {
    key: text().primaryKey(),
    failures: integer().notNull().default(0),
    lastFailureAt: timestamp({ withTimezone: true }),
    // When the last "rate limited" audit row for this key was written (one per audit window).
    limitedAuditedAt: timestamp({ withTimezone: true }),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("auth_throttle_updated_at_idx").on(t.updatedAt)],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid().primaryKey().defaultRandom(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text().notNull(),
    // lower(name), kept by PostgreSQL: the Access Manager sorts by it (case-insensitively) and
    // searches it with a plain LIKE, which is several times cheaper per row than ILIKE or lower().
    nameLower: text()
      .notNull()
      .generatedAlwaysAs(sql`lower(name)`),
    accessLevel: accessLevelEnum().notNull(),
    status: keyStatusEnum().notNull().default("active"),
    // Set when someone other than its holder disabled the key (SPEC §10's admin lock): only an
    // Owner or another Admin may enable it again.
    disabledBy: uuid().references(() => users.id, { onDelete: "set null" }),
    disabledByAdmin: boolean().notNull().default(false),
    // AES-256-GCM ciphertext (with tag) and nonce, base64; the row id is the AAD.
    secretCiphertext: text().notNull(),
    secretNonce: text().notNull(),
    keyVersion: integer().notNull(),
    // HMAC-SHA256 of the full key, hex: the only thing the API looks a key up by.
    digest: text().notNull(),
    prefix: text().notNull(),
    last4: text().notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp({ withTimezone: true }),
    lastUsedIp: inet(),
    // SPEC §11. Optional, up to 500 characters.
    description: text(),
    // The key stops working at this moment (null: never). Checked on every request.
    expiresAt: timestamp({ withTimezone: true }),
    // Rotation with a grace period: the secret a regenerate replaced keeps working (as itself,
    // looked up by this digest) until previousExpiresAt. Both are null when there is none.
    previousDigest: text(),
    previousExpiresAt: timestamp({ withTimezone: true }),
    // Since when the key has been able to work: creation, or the last time it was enabled again.
    // The unused-key policy counts from the later of this and lastUsedAt.
    activeSince: timestamp({ withTimezone: true }).notNull().defaultNow(),
    // Why the key is disabled when a job did it ("unused": the unused-key policy); null otherwise.
    disabledReason: text(),
  },
  (t) => [
    uniqueIndex("api_keys_digest_idx").on(t.digest),
    uniqueIndex("api_keys_user_name_idx").on(t.userId, sql`lower(${t.name})`),
    // One index per Access Manager sort, each ending in (created_at, id) so that the order is
    // total and the same index serves both directions (see lib/keys/admin.ts).
    index("api_keys_created_at_idx").on(t.createdAt, t.id),
    index("api_keys_name_lower_idx").on(t.nameLower, t.createdAt, t.id),
    index("api_keys_status_created_idx").on(t.status, t.createdAt, t.id),
    index("api_keys_access_level_created_idx").on(t.accessLevel, t.createdAt, t.id),
    // Descending with NULLS LAST: "most recently used first, never used last"; scanned backwards
    // it gives "never used first, then oldest use".
    index("api_keys_last_used_idx").on(t.lastUsedAt.desc().nullsLast(), t.createdAt.desc(), t.id.desc()),
    index("api_keys_user_created_idx").on(t.userId, t.createdAt, t.id),
    // A previous secret is looked up like the current one while its grace period runs.
    uniqueIndex("api_keys_previous_digest_idx")
      .on(t.previousDigest)
      .where(sql`${t.previousDigest} is not null`),
    // The Expires filter and sort, the expiry jobs and "Over policy" (never expiring sorts last).
    index("api_keys_expires_at_idx").on(t.expiresAt.asc().nullsLast(), t.createdAt, t.id),
    // The unused-key job: active keys by the time their clock started.
    index("api_keys_active_since_idx")
      .on(t.activeSince)
      .where(sql`${t.status} = 'active'`),
    // The Access Manager's search ("contains", any three characters or more): a trigram index
    // answers LIKE '%text%' without reading every key (SPEC §14; pg_trgm, migration 0006).
    index("api_keys_name_trgm_idx").using("gin", sql`${t.nameLower} gin_trgm_ops`),
  ],
);

// How many API keys there are, kept by statement triggers on api_keys (migration 0007): every
// statement that inserts or deletes keys adds one row with its change, so concurrent writers never
// wait on each other, and the sum is the exact count in any snapshot. The Access Manager's
// unfiltered total reads this instead of counting every key (lib/keys/admin.ts folds the rows
// into one now and then).
export const apiKeyCount = pgTable("api_key_count", {
  id: bigserial({ mode: "number" }).primaryKey(),
  delta: bigint({ mode: "number" }).notNull(),
});

// The organisation's key policy (SPEC §11, /admin/settings): one row, id 1. Null: no limit / off.
export const organisationSettings = pgTable(
  "organisation_settings",
  {
    id: integer().primaryKey().default(1),
    maxKeyLifetimeDays: integer(),
    disableUnusedAfterDays: integer(),
    // SPEC §12's "Require two-factor authentication".
    requireTwoFactor: twoFactorPolicyEnum().notNull().default("off"),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedBy: uuid().references(() => users.id, { onDelete: "set null" }),
  },
  (t) => [check("organisation_settings_one_row", sql`${t.id} = 1`)],
);

// What a person is told in the header's Notifications (and by email with SMTP_URL). `dedupeKey`
// makes a job's notice idempotent: one per key and threshold, however often or wherever it runs.
export const notifications = pgTable(
  "notifications",
  {
    id: uuid().primaryKey().defaultRandom(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text().notNull(),
    // The key it is about, by id and by its name then (the key may be gone since).
    keyId: uuid(),
    keyName: text(),
    data: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    dedupeKey: text(),
    createdAt: createdAt(),
    readAt: timestamp({ withTimezone: true }),
    // Email: claimed by one instance (emailClaimedAt), then sent (emailedAt).
    emailClaimedAt: timestamp({ withTimezone: true }),
    emailedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex("notifications_dedupe_idx")
      .on(t.userId, t.dedupeKey)
      .where(sql`${t.dedupeKey} is not null`),
    index("notifications_user_created_idx").on(t.userId, t.createdAt.desc()),
    index("notifications_unread_idx")
      .on(t.userId)
      .where(sql`${t.readAt} is null`),
    index("notifications_unsent_idx")
      .on(t.createdAt)
      .where(sql`${t.emailedAt} is null`),
  ],
);

// The in-process jobs' last runs (what ran, when, with what result): for the operator and tests.
export const jobRuns = pgTable("job_runs", {
  name: text().primaryKey(),
  lastStartedAt: timestamp({ withTimezone: true }),
  lastFinishedAt: timestamp({ withTimezone: true }),
  runs: integer().notNull().default(0),
  lastResult: jsonb().$type<Record<string, unknown>>(),
  lastError: text(),
});

// Append-only: the app inserts rows and never updates or deletes them.
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    createdAt: createdAt(),
    actorUserId: uuid(),
    actorKeyId: uuid(),
    // A snapshot of who acted (email or key name), kept when the user or key is gone.
    actorLabel: text().notNull(),
    action: text().notNull(),
    targetType: text(),
    targetId: text(),
    targetLabel: text(),
    ip: inet(),
    metadata: jsonb().$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index("audit_log_created_at_idx").on(t.createdAt, t.id),
    index("audit_log_action_idx").on(t.action, t.createdAt),
    index("audit_log_actor_idx").on(t.actorUserId, t.createdAt),
    index("audit_log_target_idx").on(t.targetId, t.createdAt),
    // The Audit log's actor and target filters are case-insensitive "contains" matches (LIKE
    // '%text%'), served by trigram indexes (SPEC §14; pg_trgm, migration 0008, which also gives
    // them a statistics target of 1,000 for the planner's estimates).
    index("audit_log_actor_label_trgm_idx").using("gin", sql`lower(${t.actorLabel}) gin_trgm_ops`),
    index("audit_log_target_label_trgm_idx").using("gin", sql`lower(${t.targetLabel}) gin_trgm_ops`),
  ],
);

export type User = typeof users.$inferSelect;
export type Invite = typeof invites.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
export type OrganisationSettings = typeof organisationSettings.$inferSelect;
export type Notification = typeof notifications.$inferSelect;
export type Role = (typeof roleEnum.enumValues)[number];
export type AccessLevel = (typeof accessLevelEnum.enumValues)[number];
export type KeyStatus = (typeof keyStatusEnum.enumValues)[number];
export type UserKind = (typeof userKindEnum.enumValues)[number];
export type TwoFactorPolicy = (typeof twoFactorPolicyEnum.enumValues)[number];
