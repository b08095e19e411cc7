import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { TEST_SECRET } from "./db";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface SpawnedServer {
  child: ChildProcess;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
}

export interface SpawnOptions {
  port: number;
  /**
   * Settings on top of the defaults (production, 127.0.0.1, the test secret, API limits and jobs off).
   * A value of `undefined` removes the variable, e.g. `DATABASE_URL: undefined` for the embedded database.
   */
  env?: Record<string, string | undefined>;
  /** How long the server may take to say it is ready. */
  timeoutMs?: number;
}

/**
 * Starts the real server (`startServer({ apiOnly: true })` from server/main.ts: the REST API without
 * Next.js, so no build is needed) in a child process; resolves once it is listening.
 */
export function spawnApiServer(options: SpawnOptions): Promise<SpawnedServer> {
  const entry = pathToFileURL(path.join(ROOT, "server", "main.ts")).href;
  const code = [
    `const { startServer } = await import(${JSON.stringify(entry)});`,
    `const started = await startServer({ dev: false, apiOnly: true });`,
    `console.log("READY " + started.url);`,
    `process.on("SIGTERM", () => started.close().then(() => process.exit(0), () => process.exit(1)));`,
  ].join("\n");
  // The database is always named by the caller: inheriting it (or defaulting to ./data) would let a
  // test open a developer's own data folder.
  if (!options.env?.DATABASE_URL && !options.env?.LATCHKEY_DATA_DIR) {
    throw new Error("spawnApiServer: pass env.DATABASE_URL or env.LATCHKEY_DATA_DIR");
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: undefined,
    LATCHKEY_DATA_DIR: undefined,
    PORT: String(options.port),
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    LATCHKEY_SECRET: TEST_SECRET,
    LATCHKEY_API_RATE_LIMIT: "0",
    LATCHKEY_API_AUTH_FAILURE_LIMIT: "0",
    // No scheduled jobs unless a test asks: they would change the rows other tests look at.
    LATCHKEY_JOB_INTERVAL_SECONDS: "0",
  };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server on ${options.port} did not start:\n${output}`)),
      options.timeoutMs ?? 60_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("READY ")) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server on ${options.port} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/** Stops a spawned server with SIGTERM (SIGKILL after 10 s); resolves once it has exited. */
export function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => (clearTimeout(force), resolve()));
    child.kill("SIGTERM");
  });
}
