/**
 * `npm run bench:api`: the API's endpoints with a valid key, ours against bare baselines, in one run.
 *
 * - ours: the real server (`npm start`: the compiled server on the production build;
 *   LATCHKEY_DIST_DIR is honoured, and the build is made first when missing), on a fresh PostgreSQL
 *   database that this script creates and drops (latchkey_api_bench_*): GET /ping, GET /whoami,
 *   POST /verify (checking the same key) and GET /api_keys (the caller's keys, one page);
 * - the ceiling: bench/api/baseline.ts's `/pong`, bare node:http answering a constant, with no
 *   authentication: what this machine allows an HTTP server in Node.js at all; beside it the same
 *   with its answers batched once per event-loop turn as ours batches its fast paths' (not a goal:
 *   it shows how much of the fast paths' ratio the batching gives, and how much is their own work);
 * - the bare one-lookup server: bench/api/baseline.ts doing the same checksum + HMAC + one indexed
 *   lookup per request as ping, and nothing else;
 * - the bare in-memory server: baseline.ts doing ping's and verify's work from a Map (checksum,
 *   HMAC, for verify the body and the second key) and nothing else: the least a Node.js server can
 *   do for those answers, so the ratios against the ceiling can be read against what the work costs.
 *
 * - ours, rate limited: a second server like ours with a per-key limit of 1 a minute, so each of
 *   its answers to the same GET /ping is the 429 (Retry-After, the API's JSON error): a refusal
 *   should cost no more than an answer, and is printed against ours GET /ping.
 *
 * All get the same database, secret and key; autocannon (50 connections) warms each up, then
 * measures it. Prints req/s, p50, p99, non-2xx and the ratios the issue asks for: ping, whoami and
 * verify against the ceiling (goal >= 0.5x with p99 < 10 ms), the list against the one-lookup
 * server (goal >= 0.8x). Settings (environment):
 *   BENCH_POSTGRES_URL  admin URL of the PostgreSQL server (default TEST_POSTGRES_URL or local)
 *   BENCH_DURATION      measured seconds per target (default 10)
 *   BENCH_WARMUP        warm-up seconds per target (default 3)
 *   BENCH_CONNECTIONS   concurrent connections (default 50)
 *   BENCH_ROUNDS        baseline/ours pairs to run, alternating (default 1)
 *   BENCH_PORT          first of the three ports used (default 3420)
 *   BENCH_ONLY          which of ours to measure, e.g. `ping,verify` (default all; the baselines always run)
 *   BENCH_CPU_PROF      a folder: ours runs under `node --cpu-prof` and writes its profile there
 *                       when it stops (open it in Chrome DevTools' Performance panel)
 * The per-key rate limit is set out of reach (LATCHKEY_API_RATE_LIMIT=100000000): the limiter
 * still counts every request, it just never refuses one.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import { openDatabase } from "@/db/open";
import { users } from "@/db/schema";
import { createApiKey } from "@/lib/keys/service";
import { db, setConnection, setServerSecret } from "@/lib/runtime";
import { createScratchDatabase, nodeScript, startProcess, stopProcess } from "../support";

const root = path.resolve(import.meta.dirname, "../..");
const duration = Number(process.env.BENCH_DURATION ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const firstPort = Number(process.env.BENCH_PORT ?? 3420);
const secret = randomBytes(36).toString("base64url");
const distDir = process.env.LATCHKEY_DIST_DIR ?? ".next";
const cpuProfileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

interface Figures {
  name: string;
  /** CPU time of the server process per 1,000 requests (user + system), when /proc tells. */
  cpuPerK: number | null;
  /** CPU time of PostgreSQL's processes per 1,000 requests, when /proc tells. */
  postgresCpuPerK: number | null;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

const children: ChildProcess[] = [];
let dropDatabase = async () => {};

async function start(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ChildProcess> {
  const [node, ...rest] = nodeScript(script);
  const child = await startProcess(name, [node!, ...nodeArgs, ...rest], env, 120_000);
  children.push(child);
  return child;
}

async function stopAll(): Promise<void> {
  await Promise.all(children.map((child) => stopProcess(child)));
}

interface Target {
  name: string;
  url: string;
  /** The status every answer should have (default 200). */
  status?: number;
  /** The process that answers, for its CPU time. */
  pid: number | undefined;
  method?: "GET" | "POST";
  body?: string;
  authorization?: string;
}

async function load(target: Target, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: target.url,
    connections,
    duration: seconds,
    method: target.method ?? "GET",
    body: target.body,
    headers: {
      ...(target.authorization ? { authorization: target.authorization } : {}),
      ...(target.body ? { "content-type": "application/json" } : {}),
    },
  });
}

/** A process's command name and the user + system CPU milliseconds it has used so far (Linux), or null. */
function procStat(pid: number | string | undefined): { command: string; cpuMs: number } | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // not Linux, or the process is gone
  }
  // "pid (command) state ...": the command may itself hold ") ", so the last one ends it.
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  return {
    command: stat.slice(stat.indexOf("(") + 1, close),
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / 100, // utime + stime, in USER_HZ (100)
  };
}

/** User + system CPU milliseconds a process has used so far (Linux), or null. */
function cpuMs(pid: number | undefined): number | null {
  return procStat(pid)?.cpuMs ?? null;
}

/**
 * CPU milliseconds used so far by each of the PostgreSQL server's processes (Linux), by pid, or
 * null: the database's share of a request, which the server's own figure leaves out.
 */
function postgresCpuMs(): Map<string, number> | null {
  const byPid = new Map<string, number>();
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of entries) {
    const stat = procStat(pid); // null: gone meanwhile
    if (stat?.command === "postgres") byPid.set(pid, stat.cpuMs);
  }
  return byPid.size > 0 ? byPid : null;
}

/**
 * What PostgreSQL's processes used between two readings: a backend started meanwhile counts from
 * zero; one that exited meanwhile (a pool closing an idle connection) is missed, never negative.
 */
function postgresCpuUsed(before: Map<string, number> | null, after: Map<string, number> | null): number | null {
  if (!before || !after) return null;
  let used = 0;
  for (const [pid, ms] of after) used += ms - (before.get(pid) ?? 0);
  return used;
}

async function measure(target: Target): Promise<Figures> {
  process.stdout.write(`  ${target.name}: warm-up ${warmup}s, `);
  await load(target, warmup);
  process.stdout.write(`measuring ${duration}s... `);
  const cpuBefore = cpuMs(target.pid);
  const postgresBefore = postgresCpuMs();
  const result = await load(target, duration);
  const cpuAfter = cpuMs(target.pid);
  const postgresAfter = postgresCpuMs();
  const perK = (used: number | null) => (used === null ? null : (used / result.requests.total) * 1000);
  const figures = {
    name: target.name,
    cpuPerK: perK(cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore),
    postgresCpuPerK: perK(postgresCpuUsed(postgresBefore, postgresAfter)),
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: result.requests.total,
  };
  console.log(`${Math.round(figures.rps)} req/s`);
  return figures;
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(root, distDir, "BUILD_ID"))) {
    console.log(`[bench] no production build in ${distDir}: building it first`);
    const built = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit", env: process.env });
    if (built.status !== 0) throw new Error("npm run build failed");
  }

  const scratch = await createScratchDatabase("latchkey_api_bench");
  dropDatabase = scratch.drop;
  const { name, url: databaseUrl } = scratch;
  const [oursPort, basePort, limitedPort] = [firstPort, firstPort + 1, firstPort + 2];

  console.log(`[bench] database ${name}; starting ours (npm start, production build) on ${oursPort}`);
  const oursProcess = await start(
    "ours",
    "scripts/start.mjs",
    {
      DATABASE_URL: databaseUrl,
      LATCHKEY_SECRET: secret,
      PORT: String(oursPort),
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      LATCHKEY_DIST_DIR: distDir,
      LATCHKEY_API_RATE_LIMIT: "100000000",
    },
    cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`] : [],
  );

  // One user and one key, made by the app's own service (the server has run the migrations).
  const database = await openDatabase({ url: databaseUrl, dataDir: "memory://", poolMax: 2 }, { migrate: false });
  setConnection(database.connection);
  setServerSecret(secret);
  const [user] = await db()
    .insert(users)
    .values({ email: "bench@example.test", name: "Bench", role: "staff", passwordHash: "x" })
    .returning();
  const actor = { userId: user!.id, email: user!.email, name: user!.name, role: user!.role, ip: null };
  const { secret: key } = await createApiKey(actor, { name: "bench", access_level: "read_only" });
  setConnection(undefined);
  await database.close();
  const authorization = `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

  console.log(`[bench] starting ours with a limit of 1 request a minute per key on ${limitedPort}`);
  const limitedProcess = await start("ours, rate limited", "scripts/start.mjs", {
    DATABASE_URL: databaseUrl,
    LATCHKEY_SECRET: secret,
    PORT: String(limitedPort),
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    LATCHKEY_DIST_DIR: distDir,
    LATCHKEY_API_RATE_LIMIT: "1",
    LATCHKEY_JOB_INTERVAL_SECONDS: "0",
  });

  console.log(`[bench] starting the baseline (bare node:http) on ${basePort}`);
  const baselineProcess = await start("baseline", "bench/api/baseline.ts", {
    DATABASE_URL: databaseUrl,
    LATCHKEY_SECRET: secret,
    PORT: String(basePort),
  });

  const ours = (path: string, extra: Partial<Target> = {}): Target => ({
    name: `ours ${extra.method ?? "GET"} ${path}`,
    url: `http://127.0.0.1:${oursPort}/api/v1${path}`,
    pid: oursProcess.pid,
    authorization,
    ...extra,
  });
  const ceilingTarget: Target = { name: "ceiling: bare constant pong", url: `http://127.0.0.1:${basePort}/pong`, pid: baselineProcess.pid };
  const batchedCeilingTarget: Target = {
    name: "ceiling, answers batched",
    url: `http://127.0.0.1:${basePort}/pong/batched`,
    pid: baselineProcess.pid,
  };
  const oneLookupTarget: Target = {
    name: "bare one-lookup server",
    url: `http://127.0.0.1:${basePort}/api/v1/ping`,
    pid: baselineProcess.pid,
    authorization,
  };
  const inMemory = {
    ping: { name: "bare in-memory: ping", url: `http://127.0.0.1:${basePort}/memory/ping`, pid: baselineProcess.pid, authorization },
    verify: {
      name: "bare in-memory: verify",
      url: `http://127.0.0.1:${basePort}/memory/verify`,
      pid: baselineProcess.pid,
      authorization,
      method: "POST" as const,
      body: JSON.stringify({ key }),
    },
  } satisfies Record<string, Target>;
  const fastPaths = [ours("/ping"), ours("/whoami"), ours("/verify", { method: "POST", body: JSON.stringify({ key }) })];
  const listTarget = ours("/api_keys");
  const limitedTarget: Target = {
    name: "ours GET /ping, rate limited (429)",
    url: `http://127.0.0.1:${limitedPort}/api/v1/ping`,
    pid: limitedProcess.pid,
    authorization,
    status: 429,
  };
  // BENCH_ONLY=ping,verify measures just those of ours (the baselines always run): to profile one.
  const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
  const chosen = (target: Target) => !only || only.some((word) => target.url.endsWith(`/${word}`));
  const targets: Target[] = [
    ceilingTarget,
    batchedCeilingTarget,
    oneLookupTarget,
    inMemory.ping,
    inMemory.verify,
    ...[...fastPaths, listTarget, limitedTarget].filter(chosen),
  ];
  for (const target of targets) {
    const response = await fetch(target.url, {
      method: target.method ?? "GET",
      body: target.body,
      headers: { ...(target.authorization ? { authorization } : {}), ...(target.body ? { "content-type": "application/json" } : {}) },
    });
    const text = await response.text();
    // The limited server's first answer of the minute may still be a 200.
    if (response.status !== (target.status ?? 200) && !(target.status === 429 && response.status === 200)) {
      throw new Error(`${target.name} answered ${response.status}: ${text}`);
    }
    if (target.body && !text.includes('"valid":true')) throw new Error(`${target.name} did not find the key valid: ${text}`);
  }

  console.log(`[bench] ${connections} connections, ${duration}s per target after ${warmup}s warm-up`);
  const results: Figures[] = [];
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.log(` round ${round}/${rounds}`);
    for (const target of targets) results.push(await measure(target));
  }

  const best = (label: string) => results.filter((r) => r.name === label).sort((a, b) => b.rps - a.rps)[0]!;
  /** `label`'s req/s over `base`'s, round by round (each round measures both), as "0.61 / 0.59 / 0.64". */
  const byRound = (label: string, base: string) => {
    const mine = results.filter((r) => r.name === label);
    const theirs = results.filter((r) => r.name === base);
    return mine.map((f, i) => (f.rps / theirs[i]!.rps).toFixed(2)).join(" / ");
  };
  const row = (f: Figures) =>
    [
      f.name.padEnd(30),
      Math.round(f.rps).toString().padStart(8),
      f.p50.toFixed(0).padStart(7),
      f.p99.toFixed(0).padStart(7),
      String(f.non2xx).padStart(8),
      String(f.errors).padStart(7),
      String(f.total).padStart(9),
      (f.cpuPerK === null ? "-" : f.cpuPerK.toFixed(0)).padStart(16),
      (f.postgresCpuPerK === null ? "-" : f.postgresCpuPerK.toFixed(0)).padStart(14),
    ].join(" ");
  console.log("");
  if (rounds > 1) console.log(`best of ${rounds} rounds for each target (by req/s):`);
  console.log(
    [
      "target".padEnd(30),
      "req/s".padStart(8),
      "p50 ms".padStart(7),
      "p99 ms".padStart(7),
      "non-2xx".padStart(8),
      "errors".padStart(7),
      "requests".padStart(9),
      "server CPU ms/1k".padStart(16),
      "PG CPU ms/1k".padStart(14),
    ].join(" "),
  );
  for (const target of targets) console.log(row(best(target.name)));
  console.log("");
  const ceiling = best(ceilingTarget.name);
  const batchedCeiling = best(batchedCeilingTarget.name);
  const oneLookup = best(oneLookupTarget.name);
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  for (const target of fastPaths.filter(chosen)) {
    const f = best(target.name);
    const ratio = f.rps / ceiling.rps;
    const ok = ratio >= 0.5 && f.p99 < 10 && f.non2xx === 0 && f.errors === 0;
    console.log(
      `${target.name}: ${ratio.toFixed(2)}x the ceiling, p99 ${f.p99} ms (goal >= 0.5x, p99 < 10 ms): ${verdict(ok)}; ` +
        `${(f.rps / batchedCeiling.rps).toFixed(2)}x the ceiling with answers batched` +
        (rounds > 1 ? `; by round ${byRound(target.name, ceilingTarget.name)}x the ceiling` : ""),
    );
  }
  if (chosen(listTarget)) {
    const list = best(listTarget.name);
    const listRatio = list.rps / oneLookup.rps;
    console.log(
      `${listTarget.name}: ${listRatio.toFixed(2)}x the bare one-lookup server, p99 ${list.p99} ms (goal >= 0.8x): ` +
        verdict(listRatio >= 0.8 && list.non2xx === 0 && list.errors === 0) +
        (rounds > 1 ? `; by round ${byRound(listTarget.name, oneLookupTarget.name)}x` : ""),
    );
  }
  if (chosen(fastPaths[0]!)) {
    const ping = best(fastPaths[0]!.name);
    console.log(`ours GET /ping against the bare one-lookup server: ${(ping.rps / oneLookup.rps).toFixed(2)}x`);
    if (chosen(limitedTarget)) {
      const limited = best(limitedTarget.name);
      console.log(
        `${limitedTarget.name}: ${(limited.rps / ping.rps).toFixed(2)}x ours GET /ping's 200s, p99 ${limited.p99} ms ` +
          `(server CPU ${limited.cpuPerK?.toFixed(0) ?? "-"} against ${ping.cpuPerK?.toFixed(0) ?? "-"} ms per 1,000 requests; ` +
          `${limited.total - limited.non2xx} of ${limited.total} were not refused)`,
      );
    }
  }
  // The least a Node.js server can do for the same answers, from memory: how far the goal is from
  // what the work itself costs here.
  for (const [mine, bare] of [
    [fastPaths[0]!, inMemory.ping],
    [fastPaths[2]!, inMemory.verify],
  ] as const) {
    if (!chosen(mine)) continue;
    const f = best(mine.name);
    const b = best(bare.name);
    console.log(
      `${bare.name}: ${(b.rps / ceiling.rps).toFixed(2)}x the ceiling; ${mine.name} does ${(f.rps / b.rps).toFixed(2)}x of it ` +
        `(server CPU ${f.cpuPerK?.toFixed(0) ?? "-"} against ${b.cpuPerK?.toFixed(0) ?? "-"} ms per 1,000 requests)`,
    );
  }
  const loadavg = fs.existsSync("/proc/loadavg") ? fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ") : "n/a";
  console.log(`(server CPU excludes PostgreSQL's, shown beside it: the database's processes, whoever asked; load average ${loadavg})`);
}

// Interrupted: still stop the servers and drop the database.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`[bench] ${signal}: cleaning up`);
    void stopAll()
      .then(() => dropDatabase())
      .finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  console.error(`[bench] ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopAll();
  await dropDatabase().catch((error: Error) => console.error(`[bench] could not drop the database: ${error.message}`));
}
