/** What the benchmarks share: starting a server process, waiting for it to say it is ready, stopping it. */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import postgres from "postgres";

export const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * Starts `command` (argv) in the project folder with `env` on top of this process's environment;
 * resolves once it prints "ready on" (the server) or "READY" (a baseline), or rejects with what it
 * printed if it exits or takes longer than `timeoutMs`.
 */
export function startProcess(name: string, command: string[], env: Record<string, string>, timeoutMs = 180_000): Promise<ChildProcess> {
  const [file, ...args] = command;
  const child = spawn(file!, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/READY|ready on/.test(output)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
}

/** The argv that runs a script: plain JavaScript as it is (npm start's scripts/start.mjs), TypeScript through tsx. */
export function nodeScript(script: string): string[] {
  return script.endsWith(".ts") ? [process.execPath, "--import", "tsx", script] : [process.execPath, script];
}

/** Stops a process with SIGTERM (SIGKILL after `graceMs`); resolves once it has exited. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => (clearTimeout(force), resolve()));
    child.kill("SIGTERM");
  });
}

/** The p-th percentile of ascending `sorted` (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `fn` `warmup` times, then `runs` times timed: p50 and p95 in milliseconds, and what the last run returned. */
export async function timeRuns<T>(fn: () => Promise<T>, runs: number, warmup = 3): Promise<{ p50: number; p95: number; last: T }> {
  let last = undefined as T;
  for (let i = 0; i < warmup; i++) last = await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    last = await fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), last };
}

/** The PostgreSQL server the benchmarks use: BENCH_POSTGRES_URL, else TEST_POSTGRES_URL, else the local one. */
export const BENCH_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface ScratchDatabase {
  name: string;
  /** The URL to it: the admin URL with its database name. */
  url: string;
  /** Drops it (with whoever is still connected) and ends the admin connection. */
  drop(): Promise<void>;
}

/**
 * A new, empty database named `${prefix}_<random>` on the PostgreSQL server at `adminUrl` (its
 * `postgres` database when the URL names none), for one benchmark run: call `drop` when done,
 * in a `finally`, so an interrupted run leaves nothing behind.
 */
export async function createScratchDatabase(prefix: string, adminUrl: string = BENCH_ADMIN_URL): Promise<ScratchDatabase> {
  const admin = new URL(adminUrl);
  if (admin.pathname === "/" || admin.pathname === "") admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  try {
    await sql.unsafe(`create database ${name}`);
  } catch (error) {
    await sql.end();
    throw error;
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}
