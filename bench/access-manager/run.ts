/**
 * Benchmark of the API Access Manager at 1k, 10k and 100k keys on PostgreSQL (not a test: it
 * prints figures and asserts nothing); SPEC §14's goals are at a million:
 *
 *   npm run bench:access-manager [-- --sizes 1000,10000,100000 --runs 30 --no-page]
 *   npm run bench:access-manager -- --sizes 1000000 --runs 15
 *
 * It creates its own database on BENCH_POSTGRES_URL or TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres),
 * fills it with lib/seed.ts, and drops it at the end. For each size it times, p50 / p95:
 *   - ours: lib/keys/admin.ts listApiKeysForAdmin (count + page ids + display rows) with the
 *     indexes of db/schema.ts;
 *   - baseline: the straightforward version, one joined query with ILIKE and OFFSET plus a
 *     count over the same join, with the indexes of the first migration (0000_init) only;
 *   - the page: GET /admin/api-access as a signed-in Owner, from the production build in
 *     LATCHKEY_DIST_DIR (default .next; skipped when there is no build or with --no-page), once
 *     with our indexes and once with the 0000_init indexes;
 *   - bulk actions (SPEC §11): Disable selected and Delete selected of a page of 25 keys, ours
 *     (one transaction) against the same keys done one call at a time.
 * The seed makes keys without expiries; here about 60% get one (30 days to 2 years after their
 * creation, so some have expired and some expire soon), and the Maximum key lifetime is 90 days
 * (for Over policy).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { openDatabase, type OpenedDatabase } from "@/db/open";
import type { Actor } from "@/lib/auth/actor";
import { createKeyring } from "@/lib/config/keyring";
import {
  deleteApiKeyAsAdmin,
  deleteApiKeysAsAdmin,
  disableApiKeysAsAdmin,
  listApiKeysForAdmin,
  setApiKeyStatusAsAdmin,
} from "@/lib/keys/admin";
import { latestAllowedExpiry } from "@/lib/keys/expiry";
import { setConnection, setServerSecret } from "@/lib/runtime";
import { seed, seedBulk } from "@/lib/seed";
import { parseAccessManagerQuery, accessManagerSearch, type AccessManagerQuery } from "@/lib/validation/admin";
import { createScratchDatabase, percentile, timeRuns } from "../support";

const args = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000,100000" },
    runs: { type: "string", default: "30" },
    "no-page": { type: "boolean", default: false },
    port: { type: "string", default: "3390" },
  },
}).values;
const SIZES = args.sizes.split(",").map(Number);
const RUNS = Number(args.runs);
const WARMUP = 3;
const PORT = Number(args.port);
const PASSWORD = "bench password 123";
const SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const DIST_DIR = process.env.LATCHKEY_DIST_DIR ?? ".next";

process.env.LATCHKEY_SECRET = SECRET;

// ---------------------------------------------------------------------------------------------

interface Scenario {
  label: string;
  params: Record<string, string>;
}

const SCENARIOS: Scenario[] = [
  { label: "first page (newest)", params: {} },
  { label: "sort name asc", params: { sort: "name", dir: "asc" } },
  { label: "sort access level asc", params: { sort: "accessLevel", dir: "asc" } },
  { label: "sort user asc", params: { sort: "user", dir: "asc" } },
  { label: "sort role desc", params: { sort: "role", dir: "desc" } },
  { label: "sort status desc", params: { sort: "status", dir: "desc" } },
  { label: "sort last used desc", params: { sort: "lastUsedAt", dir: "desc" } },
  { label: "filter disabled", params: { status: "disabled" } },
  { label: "filter read-only users, R&W", params: { role: "read_only", level: "read_only", sort: "name", dir: "asc" } },
  { label: "filter admins, sort user", params: { role: "admin", sort: "user", dir: "asc" } },
  { label: "search 'hopper' (a user)", params: { q: "hopper" } },
  { label: "search 'billing-prod' (keys)", params: { q: "billing-prod" } },
  { label: "search no match", params: { q: "no such key 100%_" } },
  { label: "search 'prod' (a quarter)", params: { q: "prod" } },
  { label: "search + filter + sort", params: { q: "grace", status: "active", sort: "lastUsedAt", dir: "desc" } },
  { label: "sort expires asc", params: { sort: "expiresAt", dir: "asc" } },
  { label: "filter status expired", params: { status: "expired" } },
  { label: "filter expired", params: { expires: "expired" } },
  { label: "filter expires within 7 days", params: { expires: "7d" } },
  { label: "filter expires in 30d, by expiry", params: { expires: "30d", sort: "expiresAt", dir: "asc" } },
  { label: "filter never expires", params: { expires: "never" } },
  { label: "filter last used never", params: { last_used: "never" } },
  { label: "filter last used > 90 days ago", params: { last_used: "90d" } },
  { label: "filter over policy (90 days)", params: { over_policy: "1" } },
  { label: "over policy + never used", params: { over_policy: "1", last_used: "never", sort: "lastUsedAt", dir: "desc" } },
  { label: "middle page, 100/page", params: { page: "MIDDLE", size: "100" } },
  { label: "last page", params: { page: "LAST" } },
];

const PAGE_SCENARIOS = [
  "first page (newest)",
  "sort user asc",
  "search 'hopper' (a user)",
  "search 'billing-prod' (keys)",
  "last page",
  "filter expires within 7 days",
  "filter never expires",
  "filter last used > 90 days ago",
  "filter over policy (90 days)",
];

/** The Maximum key lifetime set for the Over policy scenarios. */
const POLICY_DAYS = 90;

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  const { p50, p95 } = await timeRuns(fn, RUNS, WARMUP);
  return { p50, p95 };
}

/** Resolves the MIDDLE / LAST page placeholders for a given total. */
function queryOf(scenario: Scenario, total: number): AccessManagerQuery {
  const size = Number(scenario.params.size ?? 25);
  const pages = Math.max(1, Math.ceil(total / size));
  const page = scenario.params.page === "MIDDLE" ? Math.ceil(pages / 2) : scenario.params.page === "LAST" ? pages : 1;
  return parseAccessManagerQuery({ ...scenario.params, page: String(page) });
}

// ---------------------------------------------------------------------------------------------
// The baseline: what a first version would write.

const BASELINE_ORDER: Record<string, string> = {
  name: "k.name",
  accessLevel: "k.access_level",
  user: "u.name",
  createdAt: "k.created_at",
  role: "u.role",
  status: "k.status",
  lastUsedAt: "k.last_used_at",
  expiresAt: "k.expires_at",
};

async function baselineList(sql: postgres.Sql, q: AccessManagerQuery) {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (value: string | number) => (params.push(value), `$${params.length}`);
  if (q.status === "expired") where.push(`k.status = 'active' and k.expires_at <= now()`);
  else if (q.status === "active") where.push(`k.status = 'active' and (k.expires_at is null or k.expires_at > now())`);
  else if (q.status) where.push(`k.status = ${add(q.status)}`);
  if (q.expires === "expired") where.push(`k.expires_at <= now()`);
  if (q.expires === "7d" || q.expires === "30d") {
    where.push(`k.expires_at > now() and k.expires_at <= now() + interval '${q.expires === "7d" ? 7 : 30} days'`);
  }
  if (q.expires === "never") where.push(`k.expires_at is null`);
  if (q.last_used === "never") where.push(`k.last_used_at is null`);
  if (q.last_used === "30d" || q.last_used === "90d")
    where.push(`k.last_used_at < now() - interval '${q.last_used === "30d" ? 30 : 90} days'`);
  if (q.over_policy)
    where.push(`(k.expires_at is null or k.expires_at > ${add(latestAllowedExpiry(POLICY_DAYS, new Date())!.toISOString())})`);
  if (q.level) where.push(`k.access_level = ${add(q.level)}`);
  if (q.role) where.push(`u.role = ${add(q.role)}`);
  if (q.q) {
    const p = add(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where.push(`(k.name ilike ${p} or u.name ilike ${p} or u.email ilike ${p})`);
  }
  const whereSql = where.length ? `where ${where.join(" and ")}` : "";
  const from = "from api_keys k join users u on u.id = k.user_id";
  const [count] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n ${from} ${whereSql}`, params);
  const total = count?.n ?? 0;
  const page = Math.min(q.page, Math.max(1, Math.ceil(total / q.size)));
  const order = `${BASELINE_ORDER[q.sort]} ${q.dir}, k.id ${q.dir}`;
  await sql.unsafe(
    `select k.id, k.name, k.access_level, k.status, k.created_at, k.expires_at, k.last_used_at, k.last_used_ip, k.disabled_reason,
       u.id as user_id, u.name as user_name, u.email, u.role
     ${from} ${whereSql} order by ${order} limit ${q.size} offset ${(page - 1) * q.size}`,
    params,
  );
}

// ---------------------------------------------------------------------------------------------
// Expiries, the policy and the bulk actions.

/**
 * Gives the keys not yet seen here an expiry (about 60% of them, 30 days to 2 years after their
 * creation) or none; `description` marks them seen, as the seed grows the table size by size.
 */
async function giveExpiries(sql: postgres.Sql): Promise<void> {
  await sql`
    update api_keys set
      description = 'bench',
      expires_at = case when random() < 0.6 then created_at + make_interval(days => 30 + floor(random() * 700)::int) end
    where description is null`;
  await sql`update organisation_settings set max_key_lifetime_days = ${POLICY_DAYS} where id = 1`;
  await sql`vacuum (analyze) api_keys`;
}

/** Disable selected and Delete selected of 25 keys: ours in one transaction, and one call per key. */
async function benchBulk(sql: postgres.Sql, actor: Actor): Promise<void> {
  const BULK = 25;
  const runs = Math.min(RUNS, 10);
  const pickKeys = async () =>
    (
      await sql<{ id: string }[]>`
        select k.id from api_keys k join users u on u.id = k.user_id
        where k.status = 'active' and u.role <> 'owner' order by random() limit ${BULK}`
    ).map((r) => r.id);
  const enable = (ids: string[]) =>
    sql`update api_keys set status = 'active', disabled_by_admin = false, disabled_by = null where id in ${sql(ids)}`;
  const timed = async (fn: (ids: string[]) => Promise<unknown>, after?: (ids: string[]) => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ids = await pickKeys();
      const start = performance.now();
      await fn(ids);
      samples.push(performance.now() - start);
      await after?.(ids);
    }
    samples.sort((a, b) => a - b);
    return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
  };
  const rows: [string, { p50: number; p95: number }, { p50: number; p95: number }][] = [
    [
      `disable selected (${BULK} keys)`,
      await timed((ids) => disableApiKeysAsAdmin(actor, { ids }), enable),
      await timed(async (ids) => {
        for (const id of ids) await setApiKeyStatusAsAdmin(actor, id, "disabled");
      }, enable),
    ],
    [
      `delete selected (${BULK} keys)`,
      await timed((ids) => deleteApiKeysAsAdmin(actor, { ids })),
      await timed(async (ids) => {
        for (const id of ids) await deleteApiKeyAsAdmin(actor, id);
      }),
    ],
  ];
  console.log(`${`bulk (${runs} runs)`.padEnd(32)}   one tx p50    p95 | one call per key p50 p95`);
  for (const [label, o, b] of rows) console.log(`${label.padEnd(32)} ${fmt(o.p50)} ${fmt(o.p95)} |     ${fmt(b.p50)} ${fmt(b.p95)}`);
}

// ---------------------------------------------------------------------------------------------
// Index sets: ours (db/schema.ts) and the first migration's.

const INIT_INDEXES = [
  `create index bench_api_keys_name_idx on api_keys (name, id)`,
  `create index bench_api_keys_status_idx on api_keys (status, created_at)`,
  `create index bench_api_keys_access_level_idx on api_keys (access_level, created_at)`,
  `create index bench_api_keys_last_used_at_idx on api_keys (last_used_at, id)`,
  `create index bench_users_name_idx on users (name)`,
];
const OURS = [
  "api_keys_name_lower_idx",
  "api_keys_status_created_idx",
  "api_keys_access_level_created_idx",
  "api_keys_last_used_idx",
  "api_keys_user_created_idx",
  "api_keys_expires_at_idx",
  "users_name_email_idx",
  "users_role_name_email_idx",
  "api_keys_name_trgm_idx",
  "users_name_trgm_idx",
  "users_email_trgm_idx",
];

async function switchToInitIndexes(sql: postgres.Sql): Promise<string[]> {
  const defs = await sql<{ indexdef: string }[]>`select indexdef from pg_indexes where indexname in ${sql(OURS)}`;
  for (const name of OURS) await sql.unsafe(`drop index if exists ${name}`);
  for (const statement of INIT_INDEXES) await sql.unsafe(statement);
  await sql`analyze api_keys, users`;
  return defs.map((d) => d.indexdef);
}

async function restoreOurIndexes(sql: postgres.Sql, defs: string[]): Promise<void> {
  for (const statement of INIT_INDEXES) await sql.unsafe(`drop index if exists ${statement.split(" ")[2]}`);
  for (const def of defs) await sql.unsafe(def);
  await sql`analyze api_keys, users`;
}

// ---------------------------------------------------------------------------------------------
// The page, from the production build.

async function startApp(): Promise<ChildProcess | null> {
  if (args["no-page"]) return null;
  if (!fs.existsSync(path.join(process.cwd(), DIST_DIR, "BUILD_ID"))) {
    console.log(`(no production build in ${DIST_DIR}: page timings skipped; run \`LATCHKEY_DIST_DIR=${DIST_DIR} npx next build\` first)`);
    return null;
  }
  const child = spawn("npx", ["tsx", "server/main.ts"], {
    env: { ...process.env, NODE_ENV: "production", PORT: String(PORT), HOST: "127.0.0.1", LATCHKEY_DIST_DIR: DIST_DIR },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if (child.exitCode !== null) throw new Error(`the app exited:\n${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/sign-in`)).ok) return child;
    } catch {
      // not listening yet
    }
  }
  throw new Error(`the app did not start:\n${output}`);
}

function stopApp(child: ChildProcess | null): void {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
}

function cookiesOf(res: Response, jar: Map<string, string>): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const eq = pair!.indexOf("=");
    jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
}

async function signIn(email: string): Promise<string> {
  const base = `http://127.0.0.1:${PORT}`;
  const jar = new Map<string, string>();
  const header = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const csrf = await fetch(`${base}/api/auth/csrf`);
  cookiesOf(csrf, jar);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: header() },
    body: new URLSearchParams({ csrfToken, email, password: PASSWORD, json: "true", callbackUrl: `${base}/profile` }),
  });
  cookiesOf(res, jar);
  if (![...jar.keys()].some((k) => k.includes("session-token"))) throw new Error(`sign-in failed (${res.status})`);
  return header();
}

async function getPage(cookie: string, query: AccessManagerQuery): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${PORT}/admin/api-access${accessManagerSearch(query)}`, { headers: { cookie } });
  const body = await res.text();
  if (res.status !== 200 || !body.includes("API Access Manager")) throw new Error(`page answered ${res.status}`);
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => n.toFixed(1).padStart(7);

async function main() {
  const scratch = await createScratchDatabase("latchkey_bench");
  const dbName = scratch.name;
  process.env.DATABASE_URL = scratch.url; // for the app this benchmark starts
  let app: ChildProcess | null = null;
  let database: OpenedDatabase | undefined;
  try {
    // The database opened as the server opens it, and made this process's for the service queries.
    database = await openDatabase({ url: scratch.url, dataDir: "memory://", poolMax: 10 });
    setConnection(database.connection);
    setServerSecret(SECRET);
    const { sql } = database.connection;
    const ring = createKeyring(SECRET);
    const scalar = async <T>(rows: Promise<{ n: T }[]>): Promise<T> => (await rows)[0]!.n;
    const version = await scalar(sql<{ n: string }[]>`select current_setting('server_version') as n`);
    console.log(`Access Manager benchmark on PostgreSQL ${version} (${dbName}), ${RUNS} runs after ${WARMUP} warm-ups, times in ms\n`);

    let actor: Actor | undefined;
    let cookie: string | undefined;
    for (const size of SIZES) {
      const have = await scalar(sql<{ n: number }[]>`select count(*)::int as n from api_keys`);
      const started = Date.now();
      if (!actor) {
        await seed(sql, ring, { keys: Math.max(0, size - 7), password: PASSWORD });
        const [owner] = await sql<{ id: string; email: string; name: string }[]>`select id, email, name from users where role = 'owner'`;
        actor = { userId: owner!.id, email: owner!.email, name: owner!.name, role: "owner", ip: null };
      } else if (size > have) {
        await seedBulk(
          sql,
          ring,
          size - have,
          (await sql<{ h: string }[]>`select password_hash as h from users where role = 'owner'`)[0]!.h,
        );
        await sql`vacuum (analyze) users, api_keys`;
      }
      await giveExpiries(sql);
      const total = await scalar(sql<{ n: number }[]>`select count(*)::int as n from api_keys`);
      const people = await scalar(sql<{ n: number }[]>`select count(*)::int as n from users`);
      console.log(
        `== ${total.toLocaleString("en")} keys, ${people.toLocaleString("en")} users ` +
          `(seeded in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
      console.log(`${"scenario".padEnd(32)}   ours p50    p95 | baseline p50    p95`);

      const ours = new Map<string, { p50: number; p95: number }>();
      for (const s of SCENARIOS) ours.set(s.label, await time(() => listApiKeysForAdmin(actor!, queryOf(s, total))));
      const defs = await switchToInitIndexes(sql);
      const base = new Map<string, { p50: number; p95: number }>();
      try {
        for (const s of SCENARIOS) base.set(s.label, await time(() => baselineList(sql, queryOf(s, total))));
      } finally {
        await restoreOurIndexes(sql, defs);
      }
      for (const s of SCENARIOS) {
        const o = ours.get(s.label)!;
        const b = base.get(s.label)!;
        console.log(`${s.label.padEnd(32)} ${fmt(o.p50)} ${fmt(o.p95)} |     ${fmt(b.p50)} ${fmt(b.p95)}`);
      }

      if (!app && !args["no-page"]) {
        app = await startApp();
        if (app) {
          cookie = await signIn(actor.email);
          // Warm the server (JIT, route code, the pool) so the first scenario is not the one to pay.
          for (let i = 0; i < 20; i++) await getPage(cookie, queryOf(SCENARIOS[i % SCENARIOS.length]!, total));
        }
      }
      if (app && cookie) {
        console.log(`${"page GET /admin/api-access".padEnd(32)}   ours p50    p95 | 0000 indexes p50 p95`);
        const pageOurs = new Map<string, { p50: number; p95: number }>();
        for (const label of PAGE_SCENARIOS) {
          const s = SCENARIOS.find((x) => x.label === label)!;
          pageOurs.set(label, await time(() => getPage(cookie!, queryOf(s, total))));
        }
        const defs2 = await switchToInitIndexes(sql);
        try {
          for (const label of PAGE_SCENARIOS) {
            const s = SCENARIOS.find((x) => x.label === label)!;
            const b = await time(() => getPage(cookie!, queryOf(s, total)));
            const o = pageOurs.get(label)!;
            console.log(`${`  ${label}`.padEnd(32)} ${fmt(o.p50)} ${fmt(o.p95)} |     ${fmt(b.p50)} ${fmt(b.p95)}`);
          }
        } finally {
          await restoreOurIndexes(sql, defs2);
        }
      }
      // Last: deleting keys shrinks the table (the next size seeds them back).
      await benchBulk(sql, { ...actor, confirmedAt: new Date() }); // a freshly confirmed Owner (Confirm it's you)
      console.log("");
    }
  } finally {
    stopApp(app);
    setConnection(undefined);
    await database?.close();
    await new Promise((r) => setTimeout(r, 500));
    await scratch.drop();
  }
}

await main();
