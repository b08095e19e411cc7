/**
 * Demo and bulk data (`npm run db:seed`, the access-manager benchmark, tests): demo users of every
 * role with a few API keys, and optionally a large organisation. Fast at scale: secrets are
 * generated and sealed in Node, rows go in as batched `unnest` inserts. Keys are sealed with the
 * keyring given, which must come from the server's secret for the app to open them.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type postgres from "postgres";
import type { AccessLevel, KeyStatus, Role } from "@/db/schema";
import { hashPassword } from "@/lib/auth/password";
import type { Keyring } from "@/lib/config/keyring";
import { digestApiKey, sealSecret } from "@/lib/keys/crypto";
import { displayParts, generateApiKey } from "@/lib/keys/format";

type Sql = postgres.Sql;

export interface KeySpec {
  userId: string;
  name: string;
  accessLevel: AccessLevel;
  status?: KeyStatus;
  disabledBy?: string | null;
  disabledByAdmin?: boolean;
  createdAt?: Date;
  lastUsedAt?: Date | null;
}

const BATCH = 5000;

/**
 * A text[] parameter: every column of a batch travels as one array and is cast in SQL, which
 * needs no per-driver knowledge of array types (postgres.js infers them only for some).
 */
function textArray(sql: Sql, values: (string | number | boolean | null)[]) {
  return sql.array(
    values.map((v) => (v === null ? null : String(v))),
    25, // text
  );
}

/**
 * Inserts keys with real secrets (valid format and checksum, sealed with the row id as AAD, an
 * HMAC digest for lookup), in batches of one `insert ... select from unnest(...)` each.
 */
export async function insertKeys(sql: Sql, ring: Keyring, specs: KeySpec[]): Promise<void> {
  for (let start = 0; start < specs.length; start += BATCH) {
    const batch = specs.slice(start, start + BATCH);
    const random = randomBytes(32 * batch.length);
    const cols = {
      id: [] as string[],
      userId: [] as string[],
      name: [] as string[],
      level: [] as string[],
      status: [] as string[],
      byAdmin: [] as boolean[],
      by: [] as (string | null)[],
      ciphertext: [] as string[],
      nonce: [] as string[],
      version: [] as number[],
      digest: [] as string[],
      prefix: [] as string[],
      last4: [] as string[],
      created: [] as string[],
      lastUsed: [] as (string | null)[],
    };
    batch.forEach((spec, i) => {
      const id = randomUUID();
      const secret = generateApiKey(random.subarray(i * 32, i * 32 + 32));
      const sealed = sealSecret(secret, id, ring);
      const { prefix, last4 } = displayParts(secret);
      const status = spec.status ?? "active";
      cols.id.push(id);
      cols.userId.push(spec.userId);
      cols.name.push(spec.name);
      cols.level.push(spec.accessLevel);
      cols.status.push(status);
      cols.byAdmin.push(status === "disabled" && Boolean(spec.disabledByAdmin));
      cols.by.push(status === "disabled" ? (spec.disabledBy ?? null) : null);
      cols.ciphertext.push(sealed.ciphertext);
      cols.nonce.push(sealed.nonce);
      cols.version.push(sealed.version);
      cols.digest.push(digestApiKey(secret, ring));
      cols.prefix.push(prefix);
      cols.last4.push(last4);
      cols.created.push((spec.createdAt ?? new Date()).toISOString());
      cols.lastUsed.push(spec.lastUsedAt ? spec.lastUsedAt.toISOString() : null);
    });
    const t = (values: (string | number | boolean | null)[]) => textArray(sql, values);
    await sql`
      insert into api_keys (id, user_id, name, access_level, status, disabled_by_admin, disabled_by,
        secret_ciphertext, secret_nonce, key_version, digest, prefix, last4, created_at, updated_at, last_used_at)
      select id::uuid, user_id::uuid, name, level::access_level, status::key_status, by_admin::bool, by_user::uuid,
        ciphertext, nonce, version::int, digest, prefix, last4, created::timestamptz, created::timestamptz, last_used::timestamptz
      from unnest(
        ${t(cols.id)}, ${t(cols.userId)}, ${t(cols.name)}, ${t(cols.level)}, ${t(cols.status)}, ${t(cols.byAdmin)}, ${t(cols.by)},
        ${t(cols.ciphertext)}, ${t(cols.nonce)}, ${t(cols.version)}, ${t(cols.digest)}, ${t(cols.prefix)}, ${t(cols.last4)},
        ${t(cols.created)}, ${t(cols.lastUsed)}
      ) as t(id, user_id, name, level, status, by_admin, by_user, ciphertext, nonce, version, digest, prefix, last4, created, last_used)`;
  }
}

interface SeedUser {
  email: string;
  name: string;
  role: Role;
}

/** Inserts users who do not exist yet (by email); returns every one of them with its id. */
async function ensureUsers(
  sql: Sql,
  list: SeedUser[],
  passwordHash: string,
): Promise<{ id: string; email: string; role: Role; created: boolean }[]> {
  const out: { id: string; email: string; role: Role; created: boolean }[] = [];
  for (let start = 0; start < list.length; start += BATCH) {
    const batch = list.slice(start, start + BATCH);
    const inserted = await sql<{ id: string; email: string; role: Role }[]>`
      insert into users (email, name, role, password_hash)
      select email, name, role::role, ${passwordHash}
      from unnest(${textArray(
        sql,
        batch.map((u) => u.email),
      )}, ${textArray(
        sql,
        batch.map((u) => u.name),
      )}, ${textArray(
        sql,
        batch.map((u) => u.role),
      )}) as t(email, name, role)
      where not exists (select 1 from users where lower(users.email) = lower(t.email))
      returning id, email, role`;
    const created = new Set(inserted.map((u) => u.email));
    const all = await sql<{ id: string; email: string; role: Role }[]>`
      select id, email, role from users where lower(email) = any(${textArray(
        sql,
        batch.map((u) => u.email.toLowerCase()),
      )})`;
    for (const u of all) out.push({ ...u, created: created.has(u.email) });
  }
  return out;
}

export const DEMO_USERS: (SeedUser & { keys: { name: string; accessLevel: AccessLevel }[] })[] = [
  { role: "owner", email: "owner@demo.latchkey.example", name: "Olga Owner", keys: [{ name: "Finance export", accessLevel: "read_only" }] },
  {
    role: "admin",
    email: "admin@demo.latchkey.example",
    name: "Arun Admin",
    keys: [
      { name: "Ops automation", accessLevel: "read_write" },
      { name: "Grafana", accessLevel: "read_only" },
    ],
  },
  {
    role: "staff",
    email: "staff@demo.latchkey.example",
    name: "Sofia Staff",
    keys: [
      { name: "Billing sync", accessLevel: "read_write" },
      { name: "Metabase dashboards", accessLevel: "read_only" },
      { name: "CRM import", accessLevel: "read_write" },
    ],
  },
  {
    role: "read_only",
    email: "reader@demo.latchkey.example",
    name: "Ravi Reader",
    keys: [{ name: "Weekly report", accessLevel: "read_only" }],
  },
  { role: "lite", email: "lite@demo.latchkey.example", name: "Lena Lite", keys: [] },
];

const FIRST = [
  "Ada",
  "Grace",
  "Alan",
  "Linus",
  "Barbara",
  "Ken",
  "Dennis",
  "Margaret",
  "Katherine",
  "Edsger",
  "Frances",
  "Donald",
  "Radia",
  "Tim",
  "Hedy",
  "John",
  "Sophie",
  "Guido",
  "Anita",
  "Bjarne",
];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Torvalds",
  "Liskov",
  "Thompson",
  "Ritchie",
  "Hamilton",
  "Johnson",
  "Dijkstra",
  "Allen",
  "Knuth",
  "Perlman",
  "Berners-Lee",
  "Lamarr",
  "McCarthy",
  "Wilson",
  "van Rossum",
  "Borg",
  "Stroustrup",
];
const SERVICES = [
  "billing",
  "crm-sync",
  "warehouse",
  "analytics",
  "zapier",
  "metabase",
  "hubspot",
  "slack-bot",
  "reporting",
  "etl",
  "invoicing",
  "churn-model",
];
const ENVIRONMENTS = ["prod", "staging", "dev", "ci"];
const DAY = 24 * 60 * 60 * 1000;

const pick = <T>(list: readonly T[], n: number): T => list[n % list.length]!;

/** A bulk user's role: mostly Staff, some Read-only and Lite, a few Admins. */
function bulkRole(i: number): Exclude<Role, "owner"> {
  const r = i % 50;
  if (r === 0) return "admin";
  if (r < 10) return "read_only";
  if (r < 15) return "lite";
  return "staff";
}

/** A large organisation: about one user per 100 keys, and `count` keys spread over them. */
export async function seedBulk(sql: Sql, ring: Keyring, count: number, passwordHash: string): Promise<{ users: number; keys: number }> {
  const tag = randomBytes(3).toString("hex");
  const userCount = Math.max(1, Math.ceil(count / 100));
  const people: SeedUser[] = Array.from({ length: userCount }, (_, i) => {
    const first = pick(FIRST, i);
    const last = pick(LAST, Math.floor(i / FIRST.length) + i);
    return {
      email: `${first}.${last}.${tag}${i}@bulk.latchkey.example`.toLowerCase().replace(/[^a-z0-9.@-]/g, ""),
      name: `${first} ${last}`,
      role: bulkRole(i),
    };
  });
  const created = await ensureUsers(sql, people, passwordHash);
  const holders = created.filter((u) => u.role !== "lite");
  const admins = created.filter((u) => u.role === "admin");
  const now = Date.now();
  // A chunk at a time: a million specs held at once cost over a gigabyte of memory.
  for (let from = 0; from < count; from += SPEC_CHUNK) {
    await insertKeys(sql, ring, bulkKeySpecs(from, Math.min(count, from + SPEC_CHUNK), { holders, admins, tag, now }));
  }
  return { users: created.filter((u) => u.created).length, keys: count };
}

const SPEC_CHUNK = 10 * BATCH;

/** The bulk organisation's keys number `from` to `to` (exclusive), spread over its holders at random. */
function bulkKeySpecs(
  from: number,
  to: number,
  { holders, admins, tag, now }: { holders: { id: string; role: Role }[]; admins: { id: string }[]; tag: string; now: number },
): KeySpec[] {
  const specs: KeySpec[] = [];
  for (let i = from; i < to; i++) {
    const user = holders[Math.floor(Math.random() * holders.length)]!;
    const createdAt = new Date(now - Math.random() * 730 * DAY);
    const disabled = Math.random() < 0.08;
    const byAdmin = disabled && Math.random() < 0.35;
    specs.push({
      userId: user.id,
      // Unique per user: the running number is unique in this run, and every run has new users.
      name: `${pick(SERVICES, i)}-${pick(ENVIRONMENTS, Math.floor(i / SERVICES.length))}-${tag}-${i}`,
      accessLevel: user.role === "read_only" || Math.random() < 0.4 ? "read_only" : "read_write",
      status: disabled ? "disabled" : "active",
      disabledByAdmin: byAdmin,
      disabledBy: disabled ? (byAdmin ? (admins[0]?.id ?? null) : user.id) : null,
      createdAt,
      lastUsedAt: Math.random() < 0.65 ? new Date(createdAt.getTime() + Math.random() * (now - createdAt.getTime())) : null,
    });
  }
  return specs;
}

export interface SeedReport {
  accounts: { role: Role; email: string; created: boolean }[];
  bulk: { users: number; keys: number } | null;
  password: string;
}

/** Demo users of every role with a few keys each, then (optionally) a bulk organisation. */
export async function seed(sql: Sql, ring: Keyring, opts: { keys: number; password: string }): Promise<SeedReport> {
  const passwordHash = await hashPassword(opts.password);
  const [owner] = await sql<{ email: string }[]>`select email from users where role = 'owner' limit 1`;
  // There is exactly one Owner: an installation that already has one keeps it.
  const demo = DEMO_USERS.filter((u) => u.role !== "owner" || !owner || owner.email === u.email);
  const users = await ensureUsers(sql, demo, passwordHash);
  const specs: KeySpec[] = [];
  for (const user of users.filter((u) => u.created)) {
    const spec = demo.find((d) => d.email === user.email)!;
    for (const key of spec.keys) specs.push({ userId: user.id, name: key.name, accessLevel: key.accessLevel, lastUsedAt: null });
  }
  await insertKeys(sql, ring, specs);
  const bulk = opts.keys > 0 ? await seedBulk(sql, ring, opts.keys, passwordHash) : null;
  // Fresh statistics (and a visibility map for index-only scans) after a bulk load.
  await sql`vacuum (analyze) users, api_keys`;
  return {
    accounts: DEMO_USERS.map((d) => {
      const user = users.find((u) => u.email === d.email);
      return { role: d.role, email: user ? d.email : (owner?.email ?? d.email), created: Boolean(user?.created) };
    }),
    bulk,
    password: opts.password,
  };
}
