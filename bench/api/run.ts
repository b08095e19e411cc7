/**
 * `npm run bench:api`: GET /api/v1/ping with a valid key, ours against a bare baseline, in one run.
 *
 * - ours: the real server (`npm start`: server/main.ts on the production build; LATCHKEY_DIST_DIR is
 *   honoured, and the build is made first when missing), on a fresh PostgreSQL database that this
 *   script creates and drops (latchkey_api_bench_*);
 * - baseline: bench/api/baseline.ts, bare node:http doing the same checksum + HMAC + indexed lookup.
 *
 * Both get the same database, secret and key; autocannon (50 connections) warms each up, then
 * measures it. Prints req/s, p50, p99, non-2xx and the ratio. Settings (environment):
 *   BENCH_POSTGRES_URL  admin URL of the PostgreSQL server (default TEST_POSTGRES_URL or local)
 *   BENCH_DURATION      measured seconds per target (default 10)
 *   BENCH_WARMUP        warm-up seconds per target (default 3)
 *   BENCH_CONNECTIONS   concurrent connections (default 50)
 *   BENCH_ROUNDS        baseline/ours pairs to run, alternating (default 1)
 *   BENCH_PORT          first of the two ports used (default 3420)
 * The per-key rate limit is set out of reach (LATCHKEY_API_RATE_LIMIT=100000000): the limiter
 * still counts every request, it just never refuses one.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import postgres from "postgres";
import { openDatabase } from "@/db/open";
import { users } from "@/db/schema";
import { createApiKey } from "@/lib/keys/service";
import { db, setConnection, setServerSecret } from "@/lib/runtime";
import { nodeScript, startProcess, stopProcess } from "../support";

const root = path.resolve(import.meta.dirname, "../..");
const adminUrl = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const duration = Number(process.env.BENCH_DURATION ?? 10);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const firstPort = Number(process.env.BENCH_PORT ?? 3420);
const secret = randomBytes(36).toString("base64url");
const distDir = process.env.LATCHKEY_DIST_DIR ?? ".next";

interface Figures {
  name: string;
  /** CPU time of the server process per 1,000 requests (user + system), when /proc tells. */
  cpuPerK: number | null;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

const children: ChildProcess[] = [];
let dropDatabase = async () => {};

async function start(name: string, script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = await startProcess(name, nodeScript(script), env, 120_000);
  children.push(child);
  return child;
}

async function stopAll(): Promise<void> {
  await Promise.all(children.map((child) => stopProcess(child)));
}

async function load(url: string, authorization: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, headers: { authorization } });
}

/** User + system CPU milliseconds a process has used so far (Linux), or null. */
function cpuMs(pid: number | undefined): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return null;
  }
}

async function measure(name: string, url: string, authorization: string, pid: number | undefined): Promise<Figures> {
  process.stdout.write(`  ${name}: warm-up ${warmup}s, `);
  await load(url, authorization, warmup);
  process.stdout.write(`measuring ${duration}s... `);
  const cpuBefore = cpuMs(pid);
  const result = await load(url, authorization, duration);
  const cpuAfter = cpuMs(pid);
  const figures = {
    name,
    cpuPerK: cpuBefore === null || cpuAfter === null ? null : ((cpuAfter - cpuBefore) / result.requests.total) * 1000,
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

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const name = `latchkey_api_bench_${randomBytes(5).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  dropDatabase = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const [oursPort, basePort] = [firstPort, firstPort + 1];

  console.log(`[bench] database ${name}; starting ours (npm start, production build) on ${oursPort}`);
  const oursProcess = await start("ours", "scripts/start.mjs", {
    DATABASE_URL: databaseUrl,
    LATCHKEY_SECRET: secret,
    PORT: String(oursPort),
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    LATCHKEY_DIST_DIR: distDir,
    LATCHKEY_API_RATE_LIMIT: "100000000",
  });

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

  console.log(`[bench] starting the baseline (bare node:http) on ${basePort}`);
  const baselineProcess = await start("baseline", "bench/api/baseline.ts", {
    DATABASE_URL: databaseUrl,
    LATCHKEY_SECRET: secret,
    PORT: String(basePort),
  });

  const targets = {
    baseline: `http://127.0.0.1:${basePort}/api/v1/ping`,
    ours: `http://127.0.0.1:${oursPort}/api/v1/ping`,
  };
  for (const [label, target] of Object.entries(targets)) {
    const response = await fetch(target, { headers: { authorization } });
    if (response.status !== 200) throw new Error(`${label} refused the bench key: ${response.status} ${await response.text()}`);
  }

  console.log(`[bench] GET /api/v1/ping with a valid key, ${connections} connections, ${duration}s each after ${warmup}s warm-up`);
  const results: Figures[] = [];
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.log(` round ${round}/${rounds}`);
    results.push(await measure("baseline", targets.baseline, authorization, baselineProcess.pid));
    results.push(await measure("ours", targets.ours, authorization, oursProcess.pid));
  }

  const best = (label: string) => results.filter((r) => r.name === label).sort((a, b) => b.rps - a.rps)[0]!;
  const [base, ours] = [best("baseline"), best("ours")];
  const row = (f: Figures) =>
    [
      f.name.padEnd(30),
      Math.round(f.rps).toString().padStart(8),
      f.p50.toFixed(0).padStart(7),
      f.p99.toFixed(0).padStart(7),
      String(f.non2xx).padStart(8),
      String(f.errors).padStart(7),
      String(f.total).padStart(9),
      (f.cpuPerK === null ? "-" : f.cpuPerK.toFixed(0)).padStart(14),
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
      "server CPU ms/1k".padStart(14),
    ].join(" "),
  );
  console.log(row({ ...base, name: "baseline (bare node:http)" }));
  console.log(row({ ...ours, name: "ours (npm start, server/main.ts)" }));
  console.log("");
  console.log(`ratio ours/baseline: ${(ours.rps / base.rps).toFixed(2)}x throughput; p99 ${ours.p99} ms vs ${base.p99} ms`);
  const loadavg = fs.existsSync("/proc/loadavg") ? fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ") : "n/a";
  console.log(`(server CPU excludes PostgreSQL's, which the baseline spends on every request; load average ${loadavg})`);
  const ok = ours.rps >= base.rps && ours.p99 < 15 && ours.non2xx === 0 && ours.errors === 0;
  console.log(
    ok ? "target met: >= 1.0x baseline, p99 < 15 ms, zero non-2xx" : "target NOT met (>= 1.0x baseline, p99 < 15 ms, zero non-2xx)",
  );
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
