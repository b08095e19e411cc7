/**
 * Benchmark of the Audit log's filters on PostgreSQL (not a test: it prints figures and asserts
 * nothing):
 *
 *   npx tsx bench/audit-log/run.ts [--rows 1000000 --runs 30 --explain]
 *   npm run bench:audit-log [-- --rows 1000000 --runs 30 --explain]
 *
 * It creates its own database on BENCH_POSTGRES_URL or TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), fills audit_log with one INSERT ... SELECT
 * generate_series (one row a second back from now: about 2,000 people acting, key names such as
 * "billing-prod-17" and emails as targets, a few rare actors and targets), and drops it at the end.
 * For each scenario it times, p50 / p95, the first page (50 rows, newest first), as the same SQL
 * sent the same way:
 *   - ours: the query of lib/audit/query.ts, "contains" matches, with the indexes of db/schema.ts
 *     (trigram indexes on lower(actor_label) and lower(target_label), migration 0008);
 *   - prefix: the query before migration 0008, "starts with" matches (lower(label) LIKE 'text%'),
 *     with its lower(label) text_pattern_ops indexes instead of the trigram ones;
 *   - service: ours through lib/audit/query.ts listAuditLog (validation, Drizzle, the DTOs).
 * The two do not answer the same question ("prod" finds "billing-prod-17" only in ours): the
 * rows columns say how many each returned. --explain prints each query's plan (EXPLAIN ANALYZE).
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { openDatabase, type OpenedDatabase } from "@/db/open";
import { escapeLike } from "@/db/sql";
import type { Actor } from "@/lib/auth/actor";
import { listAuditLog } from "@/lib/audit/query";
import { setConnection, setServerSecret } from "@/lib/runtime";
import { auditLogQuerySchema, type AuditLogQuery } from "@/lib/validation/admin";
import { createScratchDatabase, timeRuns } from "../support";

const args = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    runs: { type: "string", default: "30" },
    explain: { type: "boolean", default: false },
  },
}).values;
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const WARMUP = 3;
const PAGE = 50;
const SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/** The id of the target that the "exact id" scenario looks up (a user targeted about 500 times). */
const TARGET_ID = "'00000000-0000-4000-8000-' || lpad(to_hex(%), 12, '0')";
const exactId = `00000000-0000-4000-8000-${(1234).toString(16).padStart(12, "0")}`;

interface Scenario {
  label: string;
  filter: { actor?: string; target?: string };
}

// Some terms start their labels (both queries find them), some are inside them (only ours does).
const SCENARIOS: Scenario[] = [
  { label: "no filter", filter: {} },
  { label: "actor common, a start", filter: { actor: "user1" } },
  { label: "actor common, inside", filter: { actor: "example.com" } },
  { label: "actor rare, a start", filter: { actor: "auditor3" } },
  { label: "actor rare, inside", filter: { actor: "@corp" } },
  { label: "target common, a start", filter: { target: "billing" } },
  { label: "target common, inside", filter: { target: "prod" } },
  { label: "target rare, a start", filter: { target: "legacy-ledger" } },
  { label: "target rare, inside", filter: { target: "ledger" } },
  { label: "target no match", filter: { target: "nothing-here" } },
  { label: "target 2 chars, common", filter: { target: "pr" } },
  { label: "target 2 chars, rare", filter: { target: "qz" } },
  { label: "actor 2 chars, no match", filter: { actor: "zz" } },
  { label: "target exact id", filter: { target: exactId } },
];

/**
 * The log: row i was written i seconds ago. Actors: 2,000 people (user<n>@example.com), every
 * 1,000th row one of 7 auditors (auditor<n>@corp.example, ~140 rows each). Targets: half the rows a
 * person (by email, with an id), the other half a key named <team>-<env>-<n> (a third of them
 * "prod"); every 5,000th row the key legacy-ledger-<n> (150 rows), or
 * every 20,000th "qz-export" (50 rows, the rare two-character term).
 */
async function fill(sql: postgres.Sql, rows: number): Promise<void> {
  await sql.unsafe(`
    insert into audit_log (created_at, actor_user_id, actor_label, action, target_type, target_id, target_label, ip)
    select now() - make_interval(secs => i),
           null,
           case when i % 1000 = 0 then 'auditor' || (i / 1000 % 7) || '@corp.example'
                else 'user' || (i::bigint * 7919 % 2000) || '@example.com' end,
           (array['auth.signed_in','key.created','key.revealed','key.disabled','key.deleted',
                  'user.role_changed','user.invited','auth.sign_in_failed'])[1 + i % 8],
           case when i % 2 = 0 then 'user' else 'api_key' end,
           case when i % 2 = 0 then ${TARGET_ID.replace("%", "(i / 2 * 104729::bigint % 2000)")}
                else md5(i::text)::uuid::text end,
           case when i % 20000 = 1 then 'qz-export'
                when i % 5000 = 1 then 'legacy-ledger-' || (i / 5000 % 13)
                when i % 2 = 0 then 'user' || (i / 2 * 104729::bigint % 2000) || '@example.com'
                else (array['billing','search','mail','payments','ci','web'])[1 + i / 2 % 6] || '-' ||
                     (array['prod','staging','dev'])[1 + i / 12 % 3] || '-' || (i % 97) end,
           ('10.0.' || (i % 250) || '.' || (i % 199))::inet
    from generate_series(1, ${rows}) as i`);
}

interface Index {
  name: string;
  def: string;
  /** Its column's statistics target (migration 0008 sets 1,000), null for the default. */
  stats: number | null;
}

async function labelIndexes(sql: postgres.Sql): Promise<Index[]> {
  return sql<Index[]>`
    select i.indexname as name, i.indexdef as def, nullif(a.attstattarget, -1)::int as stats
    from pg_indexes i join pg_attribute a on a.attrelid = (quote_ident(i.indexname))::regclass and a.attnum = 1
    where i.tablename = 'audit_log' and (i.indexdef like '%actor_label%' or i.indexdef like '%target_label%')`;
}

async function createIndexes(sql: postgres.Sql, indexes: Index[]): Promise<void> {
  for (const index of indexes) {
    await sql.unsafe(index.def);
    if (index.stats !== null) await sql.unsafe(`alter index ${index.name} alter column 1 set statistics ${index.stats}`);
  }
}

/** The prefix query's indexes (migration 0001), instead of the trigram ones. */
const PREFIX_INDEXES = [
  `create index audit_log_actor_label_idx on audit_log using btree (lower(actor_label) text_pattern_ops)`,
  `create index audit_log_target_label_idx on audit_log using btree (lower(target_label) text_pattern_ops)`,
];

/**
 * A first page as lib/audit/query.ts writes it: `contains` is ours, otherwise the query before
 * migration 0008 (prefix matches). Literal SQL (the terms are this file's own), for the prefix
 * timings and for EXPLAIN; ours is timed through the service.
 */
function pageSql(filter: Scenario["filter"], contains: boolean): string {
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const match = (column: string, text: string) => {
    const lower = text.toLowerCase();
    if (!contains) return `lower(${column}) like ${quote(`${escapeLike(lower)}%`)}`;
    return /[a-z0-9]{3}/.test(lower)
      ? `lower(${column}) like ${quote(`%${escapeLike(lower)}%`)}`
      : `strpos(lower(${column}), ${quote(lower)}) > 0`;
  };
  return [
    "select id, created_at, actor_label, action, target_type, target_id, target_label, ip, metadata from audit_log where true",
    filter.actor ? `and ${match("actor_label", filter.actor)}` : "",
    filter.target ? `and (${match("target_label", filter.target)} or target_id = ${quote(filter.target)})` : "",
    `order by created_at desc, id desc limit ${PAGE + 1}`,
  ].join(" ");
}

async function time(fn: () => Promise<number>): Promise<{ p50: number; p95: number; rows: number }> {
  const { p50, p95, last } = await timeRuns(fn, RUNS, WARMUP);
  return { p50, p95, rows: last };
}

const fmt = (n: number) => n.toFixed(1).padStart(7);
const load = () =>
  import("node:os").then((os) =>
    os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(" "),
  );

async function main() {
  const scratch = await createScratchDatabase("latchkey_bench");
  let database: OpenedDatabase | undefined;
  try {
    database = await openDatabase({ url: scratch.url, dataDir: "memory://", poolMax: 4 });
    setConnection(database.connection);
    setServerSecret(SECRET);
    const { sql } = database.connection;
    const [row] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
    const version = row!.version;
    console.log(`Audit log benchmark on PostgreSQL ${version} (${scratch.name}), ${RUNS} runs after ${WARMUP} warm-ups, times in ms`);

    // Bulk fill without the label indexes, then build them once.
    let started = Date.now();
    const ours = await labelIndexes(sql);
    for (const index of ours) await sql.unsafe(`drop index ${index.name}`);
    await fill(sql, ROWS);
    const filled = (Date.now() - started) / 1000;
    started = Date.now();
    await createIndexes(sql, ours);
    await sql`vacuum (analyze) audit_log`;
    console.log(
      `${ROWS.toLocaleString("en")} audit rows: inserted in ${filled.toFixed(1)} s, ` +
        `trigram indexes + vacuum analyze in ${((Date.now() - started) / 1000).toFixed(1)} s; load average ${await load()}\n`,
    );

    const actor: Actor = {
      userId: "00000000-0000-4000-8000-000000000000",
      email: "bench@example.com",
      name: "Bench",
      role: "owner",
      ip: null,
    };
    const queryOf = (s: Scenario): AuditLogQuery => auditLogQuerySchema.parse({ ...s.filter, size: String(PAGE) });

    const plans: string[] = [];
    const explainEach = async (label: string, contains: boolean) => {
      if (!args.explain) return;
      for (const s of SCENARIOS) {
        const plan = await sql.unsafe<{ "QUERY PLAN": string }[]>(`explain (analyze, buffers) ${pageSql(s.filter, contains)}`);
        plans.push(`-- ${label}: ${s.label}\n${plan.map((r) => r["QUERY PLAN"]).join("\n")}`);
      }
    };

    type Times = { p50: number; p95: number; rows: number };
    const serviceTimes = new Map<string, Times>();
    const oursTimes = new Map<string, Times>();
    for (const s of SCENARIOS) {
      serviceTimes.set(s.label, await time(async () => (await listAuditLog(actor, queryOf(s))).entries.length));
      oursTimes.set(s.label, await time(async () => (await sql.unsafe(pageSql(s.filter, true))).length));
    }
    await explainEach("ours", true);
    const loadOurs = await load();

    // The prefix baseline: the migration-0001 indexes instead of ours.
    for (const index of ours) await sql.unsafe(`drop index ${index.name}`);
    for (const def of PREFIX_INDEXES) await sql.unsafe(def);
    await sql`analyze audit_log`;
    const prefixTimes = new Map<string, Times>();
    try {
      for (const s of SCENARIOS) prefixTimes.set(s.label, await time(async () => (await sql.unsafe(pageSql(s.filter, false))).length));
      await explainEach("prefix", false);
    } finally {
      for (const def of PREFIX_INDEXES) await sql.unsafe(`drop index if exists ${def.split(" ")[2]}`);
      await createIndexes(sql, ours);
    }

    console.log(`${"first page of 50".padEnd(28)}   ours p50    p95  rows | prefix p50    p95  rows | service p50    p95`);
    for (const s of SCENARIOS) {
      const o = oursTimes.get(s.label)!;
      const b = prefixTimes.get(s.label)!;
      const v = serviceTimes.get(s.label)!;
      const rows = (n: number) => String(Math.min(n, PAGE)).padStart(5);
      const cells = [
        `${fmt(o.p50)} ${fmt(o.p95)} ${rows(o.rows)}`,
        ` ${fmt(b.p50)} ${fmt(b.p95)} ${rows(b.rows)}`,
        `  ${fmt(v.p50)} ${fmt(v.p95)}`,
      ];
      console.log(`${s.label.padEnd(28)} ${cells.join(" | ")}`);
      if (v.rows !== Math.min(o.rows, PAGE))
        console.log(`  (the service returned ${v.rows} rows: this file's copy of the query is out of date)`);
    }
    console.log(`\nload average: ${loadOurs} (after ours), ${await load()} (after prefix)`);
    if (plans.length) console.log(`\n${plans.join("\n\n")}`);
  } finally {
    setConnection(undefined);
    await database?.close();
    await scratch.drop();
  }
}

await main();
