/**
 * The embedded database: reached in-process only (nothing listens for it), its folder locked to
 * one opener by an OS lock (also across PID namespaces, never blocked by a crash's leftovers),
 * readable by its owner only, and no acknowledged write lost to a kill -9.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { connect } from "@/db/client";
import { openDatabase } from "@/db/open";
import { setConnection, setServerSecret } from "@/lib/runtime";
import { DataDirInUseError, startEmbeddedDatabase } from "@/db/embedded";
import { createApiKey } from "@/lib/keys/service";
import { TEST_SECRET } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";
import { spawnApiServer } from "../helpers/spawn-server";

// The embedded database is the same whichever server the other integration tests use; run once.
const only = process.env.TEST_DB === "pglite" ? describe : describe.skip;
const root = path.resolve(import.meta.dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-embedded-"));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let folders = 0;
const newFolder = () => path.join(tmp, `data-${++folders}`);
const lockFile = (dir: string) => path.join(dir, "latchkey.lock");

const OPENER = path.join(root, "tests/helpers/embedded-open.ts");

/** Runs tests/helpers/embedded-open.ts on `dir` in another process, optionally through `unshare`. */
function openElsewhere(dir: string, prefix: string[] = []): Promise<{ code: number | null; output: string }> {
  const command = [...prefix, process.execPath, "--import", "tsx", OPENER, dir];
  const child = spawn(command[0]!, command.slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, output })));
}

const canUnshare = spawnSync("unshare", ["-p", "-f", "--mount-proc", "true"]).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once("error", reject);
  });
}

/** Starts the real server (API only) on the embedded database in `dir`, in a child process. */
async function startServer(dir: string, port: number): Promise<ChildProcess> {
  const { child } = await spawnApiServer({ port, env: { LATCHKEY_DATA_DIR: dir, DATABASE_URL: undefined } });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** The process's listening sockets, from its socket file descriptors and /proc/<pid>/net. */
function listeners(pid: number): { tcpPorts: number[]; unix: number } {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const tcpPorts: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const line of fs.readFileSync(`/proc/${pid}/net/${table}`, "utf8").trim().split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [local, state, inode] = [cols[1]!, cols[3]!, cols[9]!];
      if (state === "0A" && inodes.has(inode)) tcpPorts.push(parseInt(local.split(":")[1]!, 16));
    }
  }
  let unix = 0;
  for (const line of fs.readFileSync(`/proc/${pid}/net/unix`, "utf8").trim().split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const listening = (parseInt(cols[3]!, 16) & 0x10000) !== 0; // __SO_ACCEPTCON
    if (listening && inodes.has(cols[6]!)) unix += 1;
  }
  return { tcpPorts, unix };
}

function modesUnder(dir: string): { dirs: Set<string>; files: Set<string>; count: number } {
  const dirs = new Set<string>();
  const files = new Set<string>();
  let count = 0;
  const visit = (target: string) => {
    const stat = fs.lstatSync(target);
    count += 1;
    const mode = (stat.mode & 0o777).toString(8);
    if (stat.isDirectory()) {
      dirs.add(mode);
      for (const entry of fs.readdirSync(target)) visit(path.join(target, entry));
    } else files.add(mode);
  };
  visit(dir);
  return { dirs, files, count };
}

/** Whether a Postgres startup message on `port` gets a Postgres answer (authentication or error). */
function postgresAnswers(port: number): Promise<boolean> {
  const params = Buffer.from("user\0postgres\0database\0postgres\0\0");
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4); // protocol 3.0
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (answer: boolean) => (socket.destroy(), resolve(answer));
    socket.setTimeout(3_000, () => done(false));
    socket.once("connect", () => socket.write(Buffer.concat([startup, params])));
    socket.once("data", (data) => done(data[0] === 0x52 || data[0] === 0x45)); // 'R' or 'E'
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

// Each test starts PGlite on disk or a whole server, several times: slow on a busy machine.
const SLOW = 120_000;

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

only("the embedded database", () => {
  it(
    "listens on nothing but the server's HTTP port: no other process can reach the database",
    async () => {
      const port = await freePort();
      const child = await startServer(newFolder(), port);
      const found = listeners(child.pid!);
      expect(found.tcpPorts).toEqual([port]);
      expect(found.unix).toBe(0);
      // Whatever the process listens on, a Postgres client gets no Postgres answer.
      for (const candidate of found.tcpPorts) expect(await postgresAnswers(candidate)).toBe(false);
      // And the server itself answers.
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/ping`)).status).toBe(401);
      child.kill("SIGTERM");
      await exited(child);
    },
    SLOW,
  );

  it(
    "is reached in-process through postgres: split and batched protocol messages, errors as query errors",
    async () => {
      const embedded = await startEmbeddedDatabase("memory://");
      const { sql } = connect(embedded);
      try {
        await sql`create table t (v text)`;
        // Queries pipelined into one write, a large parameter split over many chunks.
        const big = "x".repeat(1_000_000);
        const [a, b, c] = await Promise.all([
          sql`insert into t values (${big}) returning length(v) as n`,
          sql`select 2 as v`,
          sql`select 3 as v`,
        ]);
        expect([a[0]!.n, b[0]!.v, c[0]!.v]).toEqual([1_000_000, 2, 3]);
        // Pipelined queries reach PGlite together, in one batch: one failing in the middle fails
        // alone, and those after it are answered (the backend skips to the failed one's Sync only).
        const settled = await Promise.allSettled([sql`select 1 as v`, sql`select 1/0 as v`, sql`select 3 as v`, sql`select 4 as v`]);
        expect(settled.map((result) => (result.status === "fulfilled" ? result.value[0]!.v : "failed"))).toEqual([1, "failed", 3, 4]);
        await expect(sql`select * from missing_table`).rejects.toThrow(/missing_table/);
        await expect(
          sql.begin(async (tx) => {
            await tx`insert into t values ('rolled back')`;
            await tx`select 1/0`;
          }),
        ).rejects.toThrow(/division by zero/);
        expect(await sql`select count(*)::int as n from t`).toEqual([{ n: 1 }]);
        // A second connection shares PGlite's one backend but never another connection's
        // transaction: its query waits, and sees nothing of a transaction that rolled back.
        const other = connect(embedded);
        let seen: Promise<unknown> | undefined;
        await expect(
          sql.begin(async (tx) => {
            await tx`insert into t values ('rolled back')`;
            seen = other.sql`select count(*)::int as n from t`.then((rows) => rows);
            for (let i = 0; i < 5; i++) await tx`select pg_sleep(0.02)`;
            throw new Error("roll back");
          }),
        ).rejects.toThrow("roll back");
        expect(await seen).toEqual([{ n: 1 }]);
        await other.sql.end();
      } finally {
        await sql.end();
        await embedded.stop();
      }
      // Once stopped, a query fails rather than hangs.
      const after = connect(embedded);
      await expect(after.sql`select 1`).rejects.toThrow(/not open/);
      await after.sql.end();
    },
    SLOW,
  );

  it(
    "takes protocol messages split across writes and several in one write, answering each in order",
    async () => {
      const embedded = await startEmbeddedDatabase("memory://");
      try {
        const socket = embedded.backend.socket();
        let received = Buffer.alloc(0);
        socket.on("data", (data: Buffer) => (received = Buffer.concat([received, data])));
        /** The backend messages received so far, as [type, body]. */
        const messages = () => {
          const out: [string, Buffer][] = [];
          for (let at = 0; at + 5 <= received.length;) {
            const length = received.readInt32BE(at + 1);
            if (at + 1 + length > received.length) break;
            out.push([String.fromCharCode(received[at]!), received.subarray(at + 5, at + 1 + length)]);
            at += 1 + length;
          }
          return out;
        };
        const readyCount = () => messages().filter(([type]) => type === "Z").length;
        const until = async (ready: number) => {
          while (readyCount() < ready) await new Promise((resolve) => setTimeout(resolve, 10));
        };
        const query = (text: string) => {
          const body = Buffer.from(`${text}\0`);
          const header = Buffer.alloc(5);
          header.write("Q");
          header.writeInt32BE(body.length + 4, 1);
          return Buffer.concat([header, body]);
        };
        const params = Buffer.from("user\0postgres\0database\0postgres\0\0");
        const startup = Buffer.alloc(8);
        startup.writeInt32BE(8 + params.length, 0);
        startup.writeInt32BE(196608, 4);
        const opening = Buffer.concat([startup, params]);
        // The startup message in three writes, one of them inside its length field.
        socket.write(opening.subarray(0, 2));
        socket.write(opening.subarray(2, 11));
        socket.write(opening.subarray(11));
        await until(1);
        // Three queries in two writes, the cut in the middle of the second one's text.
        const batch = Buffer.concat([query("select 'one'"), query("select 'two'"), query("select 'three'")]);
        socket.write(batch.subarray(0, 20));
        socket.write(batch.subarray(20));
        await until(4);
        const rows = messages()
          .filter(([type]) => type === "D")
          .map(([, body]) => body.subarray(6).toString()); // column count (2), value length (4), value
        expect(rows).toEqual(["one", "two", "three"]);
        // An error is an ErrorResponse, and the connection goes on.
        socket.write(query("select * from missing_table"));
        await until(5);
        expect(messages().some(([type, body]) => type === "E" && body.toString().includes("missing_table"))).toBe(true);
        socket.end();
      } finally {
        await embedded.stop();
      }
    },
    SLOW,
  );

  it(
    "is opened by one opener only: a second one, here or in another process, gets a clear error",
    async () => {
      const dir = newFolder();
      const first = await startEmbeddedDatabase(dir);
      try {
        await expect(startEmbeddedDatabase(dir)).rejects.toThrow(DataDirInUseError);
        await expect(startEmbeddedDatabase(dir)).rejects.toThrow(
          new RegExp(`is in use by another Latchkey process \\(pid ${process.pid} on `),
        );
        const other = await openElsewhere(dir);
        expect(other).toMatchObject({ code: 3, output: expect.stringMatching(/is in use by another Latchkey process/) });
        const { sql } = connect(first);
        await sql`create table kept (v text)`;
        await sql`insert into kept values ('still here')`;
        await sql.end();
      } finally {
        await first.stop();
      }
      expect(fs.existsSync(lockFile(dir))).toBe(false);
      const again = await startEmbeddedDatabase(dir);
      try {
        const { sql } = connect(again);
        expect(await sql`select v from kept`).toEqual([{ v: "still here" }]);
        await sql.end();
      } finally {
        await again.stop();
      }
    },
    SLOW,
  );

  it(
    "db:migrate and db:seed on a folder in use say so in one line and exit 1, without a stack",
    async () => {
      const dir = newFolder();
      const held = await startEmbeddedDatabase(dir);
      try {
        for (const script of ["scripts/migrate.ts", "scripts/seed.ts"]) {
          const env: NodeJS.ProcessEnv = { ...process.env, LATCHKEY_DATA_DIR: dir, LATCHKEY_SECRET: TEST_SECRET };
          delete env.DATABASE_URL;
          const run = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: root, env, encoding: "utf8" });
          const output = `${run.stdout}${run.stderr}`;
          expect(run.status, output).toBe(1);
          expect(output).not.toMatch(/^\s+at /m);
          if (script === "scripts/migrate.ts") expect(output.trim().split("\n")).toHaveLength(1);
          expect(output).toMatch(new RegExp(`The data folder ${dir} is in use by another Latchkey process \\(pid ${process.pid} `));
        }
      } finally {
        await held.stop();
      }
    },
    SLOW,
  );

  it.skipIf(!canUnshare)(
    "refuses a second opener in its own PID namespace (another container on the same volume)",
    async () => {
      const dir = newFolder();
      const first = await startEmbeddedDatabase(dir);
      try {
        // In its own namespace this process's pid means nothing (or someone else): only an OS lock holds.
        const other = await openElsewhere(dir, ["unshare", "-p", "-f", "--mount-proc"]);
        expect(other.output).toMatch(/is in use by another Latchkey process/);
        expect(other.code).toBe(3);
      } finally {
        await first.stop();
      }
      // Free again: the same namespaced opener now gets in.
      expect(await openElsewhere(dir, ["unshare", "-p", "-f", "--mount-proc"])).toMatchObject({
        code: 0,
        output: expect.stringContaining("opened"),
      });
    },
    SLOW,
  );

  it(
    "is never blocked by a lock file a crashed holder left behind, whatever it says",
    async () => {
      const dir = newFolder();
      fs.mkdirSync(dir, { recursive: true });
      for (const content of [String(process.pid), "1", "garbage"]) {
        fs.writeFileSync(lockFile(dir), content);
        const embedded = await startEmbeddedDatabase(dir);
        await embedded.stop();
      }
      // A holder's info is informational: the next opener is told who holds it.
      const first = await startEmbeddedDatabase(dir);
      try {
        expect(JSON.parse(fs.readFileSync(lockFile(dir), "utf8"))).toMatchObject({ pid: process.pid, hostname: os.hostname() });
      } finally {
        await first.stop();
      }
    },
    SLOW,
  );

  it(
    "keeps its folder to its owner: folders 0700, files 0600, even under umask 0 and for an older install",
    async () => {
      const dir = newFolder();
      const previous = process.umask(0); // as on the machine the findings came from
      try {
        const embedded = await startEmbeddedDatabase(dir);
        const { sql } = connect(embedded);
        await sql`create table notes (v text)`;
        await sql`insert into notes select repeat('n', 100) from generate_series(1, 1000)`;
        await sql`checkpoint`;
        await sql.end();
        await embedded.stop();

        const fresh = modesUnder(dir);
        expect(fresh.count).toBeGreaterThan(100);
        expect([...fresh.dirs]).toEqual(["700"]);
        expect([...fresh.files]).toEqual(["600"]);

        // An install from before: loose files and folders are tightened when it is opened.
        process.umask(0);
        const pgdata = path.join(dir, "pgdata");
        fs.chmodSync(dir, 0o777);
        fs.chmodSync(pgdata, 0o755);
        fs.chmodSync(path.join(pgdata, "PG_VERSION"), 0o666);
        fs.mkdirSync(path.join(dir, "older"), { mode: 0o777 });
        fs.writeFileSync(path.join(dir, "older", "notes.txt"), "x", { mode: 0o666 });
        fs.writeFileSync(path.join(dir, "secret"), "s", { mode: 0o644 });
        expect(modesUnder(dir).files).toContain("666");

        const reopened = await startEmbeddedDatabase(dir);
        const again = connect(reopened);
        expect(await again.sql`select count(*)::int as n from notes`).toEqual([{ n: 1000 }]);
        await again.sql`create table more (v text)`;
        await again.sql.end();
        await reopened.stop();
        const tightened = modesUnder(dir);
        expect([...tightened.dirs]).toEqual(["700"]);
        expect([...tightened.files]).toEqual(["600"]);
      } finally {
        process.umask(previous);
      }
    },
    SLOW,
  );

  it(
    "loses no acknowledged key when the server is killed with kill -9: after a restart every key works",
    async () => {
      const dir = newFolder();
      // A Read & Write key to make keys with, made while the server is down.
      setServerSecret(TEST_SECRET);
      const boot = await openDatabase({ dataDir: dir });
      setConnection(boot.connection);
      let writer: string;
      try {
        writer = (await createApiKey(await makeUser("staff"), { name: "writer", access_level: "read_write" })).secret;
      } finally {
        setConnection(undefined);
        await boot.close();
      }

      const port = await freePort();
      const server = await startServer(dir, port);
      const made: string[] = [writer];
      for (let i = 0; i < 12; i++) {
        const response = await fetch(`http://127.0.0.1:${port}/api/v1/api_keys`, {
          method: "POST",
          headers: { authorization: basic(writer), "content-type": "application/json" },
          body: JSON.stringify({ name: `kept ${i}`, access_level: i % 2 ? "read_only" : "read_write" }),
        });
        expect(response.status).toBe(201);
        made.push(((await response.json()) as { key: string }).key);
      }
      server.kill("SIGKILL"); // right after the last acknowledgement
      await exited(server);
      expect(server.signalCode).toBe("SIGKILL");

      // The restart is not held up by the dead holder's lock.
      const restarted = await startServer(dir, port);
      for (const secret of made) {
        const ping = await fetch(`http://127.0.0.1:${port}/api/v1/ping`, { headers: { authorization: basic(secret) } });
        expect(ping.status).toBe(200);
      }
      restarted.kill("SIGTERM");
      await exited(restarted);
      expect(fs.existsSync(lockFile(dir))).toBe(false);
    },
    SLOW,
  );
});
