/**
 * `npm run bench:memory`: how much memory Latchkey's production process takes, idle and under API
 * load, on the embedded database and on PostgreSQL, beside the way it used to run, in one run:
 *
 * - ours: `npm start`'s process, plain `node scripts/start.mjs` on the compiled server
 *   (scripts/build-server.mjs) and the embedded database's small memory settings (db/embedded.ts);
 * - baseline: the same code run the old way, through the `tsx` command (TypeScript compiled at run
 *   time, with its esbuild helper process), as `npm start` ran before.
 *
 * Each target starts on a database that already holds one person and one key (the steady state of
 * an install; the first start's initdb is measured apart, on the embedded database). It then idles,
 * and its resident memory (the process and its children, summed) is sampled: "idle" is the
 * median over the last seconds. Then autocannon sends one load with the key for the load period
 * over 50 connections, sampling every 100 ms: "peak" is the largest sum seen (and the kernel's own
 * high-water mark of the server process, VmHWM, is checked against it). Each load gets a server
 * of its own (a peak only grows): `ping` (answered from memory), `whoami` (the key's answer,
 * from memory too), and `GET /api/v1/api_keys` (a database query on every request, the load
 * that finds out what the database costs under concurrent queries).
 * Settings (environment):
 *   BENCH_POSTGRES_URL   admin URL of the PostgreSQL server (default TEST_POSTGRES_URL or local)
 *   BENCH_DURATION       seconds of load (default 10)
 *   BENCH_IDLE           seconds of idling before the idle figure (default 15)
 *   BENCH_CONNECTIONS    concurrent connections (default 50)
 *   BENCH_PORT           the port used (default 3440)
 *   BENCH_LOADS          which loads, comma-separated (default ping,whoami,list)
 *   BENCH_MODES          which databases (default embedded,postgres)
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { openDatabase } from "@/db/open";
import { users } from "@/db/schema";
import { createApiKey } from "@/lib/keys/service";
import { db, setConnection, setServerSecret } from "@/lib/runtime";
import { createScratchDatabase, ROOT as root, startProcess, stopProcess, type ScratchDatabase } from "../support";

const duration = Number(process.env.BENCH_DURATION ?? 10);
const idleSeconds = Number(process.env.BENCH_IDLE ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const port = Number(process.env.BENCH_PORT ?? 3440);
const distDir = process.env.LATCHKEY_DIST_DIR ?? ".next";
const secret = randomBytes(36).toString("base64url");

const LOADS = { ping: "/api/v1/ping", whoami: "/api/v1/whoami", list: "/api/v1/api_keys" } as const;
type Load = keyof typeof LOADS;
const loads = (process.env.BENCH_LOADS ?? "ping,whoami,list").split(",").filter((name): name is Load => name in LOADS);
const modes = (process.env.BENCH_MODES ?? "embedded,postgres")
  .split(",")
  .filter((name): name is Mode => name === "embedded" || name === "postgres");

const TARGETS = { embedded: { idle: 350, peak: 500 }, postgres: { idle: 200, peak: null } };

type Mode = "embedded" | "postgres";
type Runner = "baseline" | "ours";

const RUNNERS: Record<Runner, { label: string; command: string[] }> = {
  baseline: { label: "tsx server/main.ts (before)", command: [path.join(root, "node_modules", ".bin", "tsx"), "server/main.ts"] },
  ours: { label: "node scripts/start.mjs (npm start)", command: [process.execPath, "scripts/start.mjs"] },
};

/** A /proc status field (in kB) of `pid` and all its descendants, summed, in MB (Linux). */
function treeSumMb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const pattern = new RegExp(`${field}:\\s+(\\d+)`);
  let kb = 0;
  const visit = (p: number) => {
    try {
      kb += Number(pattern.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
      for (const task of fs.readdirSync(`/proc/${p}/task`)) {
        for (const child of fs.readFileSync(`/proc/${p}/task/${task}/children`, "utf8").split(" ").filter(Boolean)) visit(Number(child));
      }
    } catch {
      // the process ended between two reads
    }
  };
  visit(pid);
  return kb / 1024;
}

/** Resident memory now, of the process and its children. */
const treeRssMb = (pid: number) => treeSumMb(pid, "VmRSS");
/** The largest resident memory each process of the tree ever had (the kernel's VmHWM), summed. */
const treeHighWaterMb = (pid: number) => treeSumMb(pid, "VmHWM");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function start(runner: Runner, env: Record<string, string>): Promise<ChildProcess> {
  return startProcess(runner, RUNNERS[runner].command, {
    PORT: String(port),
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    LATCHKEY_SECRET: secret,
    // Out of reach, as in bench:api: every request is counted, none refused.
    LATCHKEY_API_RATE_LIMIT: "100000000",
    ...env,
  });
}

const stop = (child: ChildProcess) => stopProcess(child, 15_000);

/** One person and one key, made by the app's own services; returns the key's Authorization header. */
async function prepare(settings: { url?: string; dataDir: string }): Promise<string> {
  const database = await openDatabase({ ...settings, poolMax: 2 });
  setConnection(database.connection);
  setServerSecret(secret);
  try {
    const [user] = await db()
      .insert(users)
      .values({ email: "bench@example.test", name: "Bench", role: "staff", passwordHash: "x" })
      .returning();
    const actor = { userId: user!.id, email: user!.email, name: user!.name, role: user!.role, ip: null };
    const { secret: key } = await createApiKey(actor, { name: "bench", access_level: "read_only" });
    return `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
  } finally {
    setConnection(undefined);
    await database.close();
  }
}

interface Figures {
  idle: number;
  peak: number;
  rps: number;
  non2xx: number;
}

async function measure(runner: Runner, load: Load, env: Record<string, string>, authorization: string): Promise<Figures> {
  process.stdout.write(`  ${RUNNERS[runner].label}, ${load}: starting, `);
  const child = await start(runner, env);
  try {
    process.stdout.write(`idling ${idleSeconds}s, `);
    const samples: number[] = [];
    for (let waited = 0; waited < idleSeconds * 1000; waited += 500) {
      await sleep(500);
      if (waited >= idleSeconds * 500) samples.push(treeRssMb(child.pid!));
    }
    const idle = median(samples);
    process.stdout.write(`load ${duration}s... `);
    let peak = treeRssMb(child.pid!);
    const sampler = setInterval(() => (peak = Math.max(peak, treeRssMb(child.pid!))), 100);
    const result = await autocannon({
      url: `http://127.0.0.1:${port}${LOADS[load]}`,
      connections,
      duration,
      headers: { authorization },
    });
    clearInterval(sampler);
    // The kernel's own high-water mark covers the moments between two samples.
    peak = Math.max(peak, treeHighWaterMb(child.pid!));
    console.log(`idle ${Math.round(idle)} MB, peak ${Math.round(peak)} MB`);
    return { idle, peak, rps: result.requests.average, non2xx: result.non2xx + result.errors };
  } finally {
    await stop(child);
  }
}

/** The embedded database's first start: initdb, then idle (ours only; the folder is new). */
async function firstStartIdle(): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-memory-first-"));
  try {
    const child = await start("ours", { LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: "" });
    try {
      await sleep(idleSeconds * 1000);
      return treeRssMb(child.pid!);
    } finally {
      await stop(child);
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(root, distDir, "BUILD_ID"))) {
    console.log(`[bench] no production build in ${distDir}: building it first`);
    const built = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit", env: process.env });
    if (built.status !== 0) throw new Error("npm run build failed");
  }
  console.log(
    `[bench] ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; load: ${connections} connections, ${duration}s`,
  );
  const results: Record<Mode, Partial<Record<Load, Partial<Record<Runner, Figures>>>>> = { embedded: {}, postgres: {} };

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-memory-"));
  let scratch: ScratchDatabase | undefined;
  let first: number | undefined;
  try {
    for (const mode of modes) {
      let env: Record<string, string>;
      let authorization: string;
      if (mode === "embedded") {
        console.log("[bench] embedded database");
        env = { LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: "" };
        authorization = await prepare({ dataDir });
      } else {
        scratch = await createScratchDatabase("latchkey_memory_bench");
        console.log(`[bench] PostgreSQL (${scratch.name})`);
        env = { DATABASE_URL: scratch.url };
        authorization = await prepare({ url: scratch.url, dataDir: "memory://" });
      }
      for (const load of loads) {
        const byRunner: Partial<Record<Runner, Figures>> = {};
        for (const runner of ["baseline", "ours"] as const) byRunner[runner] = await measure(runner, load, env, authorization);
        results[mode][load] = byRunner;
      }
      if (mode === "embedded") {
        process.stdout.write("  ours, first start on a new folder (initdb): ");
        first = await firstStartIdle();
        console.log(`idle ${Math.round(first)} MB`);
      }
    }

    const mb = (value: number | undefined | null) => (value == null ? "-" : `${Math.round(value)} MB`);
    console.log("\nResident memory (the server process and its children), one key, each load on a server of its own:\n");
    console.log("| database | load | run | idle | peak under load | req/s | errors | target (idle / peak) |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const mode of modes) {
      for (const load of loads) {
        for (const runner of ["baseline", "ours"] as const) {
          const f = results[mode][load]![runner]!;
          console.log(
            `| ${mode === "embedded" ? "embedded (PGlite)" : "PostgreSQL"} | ${load} | ${RUNNERS[runner].label} | ${mb(f.idle)} | ` +
              `${mb(f.peak)} | ${Math.round(f.rps)} | ${f.non2xx} | ${mb(TARGETS[mode].idle)} / ${mb(TARGETS[mode].peak)} |`,
          );
        }
      }
    }
    if (first !== undefined) console.log(`\nEmbedded, first start on a new folder (initdb included), idle: ${mb(first)}.`);
    for (const mode of modes) {
      for (const load of loads) {
        const { baseline: base, ours } = results[mode][load]!;
        const [idle, peak] = [(ours!.idle / base!.idle).toFixed(2), (ours!.peak / base!.peak).toFixed(2)];
        const target = TARGETS[mode];
        const met = ours!.idle <= target.idle && (target.peak === null || ours!.peak <= target.peak);
        console.log(
          `${mode}, ${load}: ours idles at ${idle}x the baseline's memory and peaks at ${peak}x; target ${met ? "met" : "NOT met"}.`,
        );
      }
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await scratch?.drop().catch(() => {});
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
