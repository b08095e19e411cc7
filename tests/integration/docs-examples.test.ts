/**
 * Every API example of README.md and docs/API.md, run as a reader runs them: each document's shell
 * blocks that call curl, top to bottom in one shell, against a served instance. The lines that
 * set a reader's own values (`KEY=lk_...`, `KEY_ID=5d1a...`) are given real ones; everything else
 * runs as written, and any answer of 400 or more fails the run (curl --fail-with-body). The
 * effects are then checked in the database, so a block that silently did nothing fails too.
 */
// First: the API's schemas extend zod (.openapi) before any other module builds one.
import { serveApi } from "../helpers/api-server";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { createApiKey, listOwnApiKeysPage } from "@/lib/keys/service";
import { db, keyCache } from "@/lib/runtime";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

const ROOT = path.resolve(import.meta.dirname, "../..");

let teardown: () => Promise<void>;
let api: Awaited<ReturnType<typeof serveApi>>;
let admin: Actor;
let staff: Actor;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off");
  api = await serveApi({ keyRateLimit: 0, authFailureLimit: 0 });
  admin = await makeUser("admin", { name: "Docs Admin" });
  staff = await makeUser("staff", { name: "Docs Staff" });
});
afterAll(async () => {
  await api.close();
  await teardown();
});

/** The shell blocks of a Markdown document that call the API. */
function apiBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)].map((match) => match[1]!).filter((block) => /\bcurl /.test(block));
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** How many curl commands ran. */
  calls: number;
  /** The files the run left in its folder (exports). */
  files: string[];
}

/**
 * Runs `blocks` in one bash, in a folder of its own (exports are saved there): `values` set the
 * reader's variables (their `NAME=...` lines are left out), `replace` swaps literal text (the
 * README's own server address).
 */
async function runBlocks(blocks: string[], values: Record<string, string>, replace: Record<string, string> = {}): Promise<Run> {
  let script = blocks.join("\n");
  for (const [from, to] of Object.entries(replace)) script = script.replaceAll(from, to);
  const preset = new RegExp(`^(${Object.keys(values).join("|")})=.*$`, "gm");
  script = script.replace(preset, (line) => `# set by the test: ${line.split("=")[0]}`);
  const program = [
    "set -euo pipefail",
    "calls=0",
    // Any answer of 400 or more stops the run, with its body on stderr.
    'curl() { calls=$((calls+1)); command curl --silent --show-error --fail-with-body --max-time 10 "$@"; echo; }',
    script,
    'echo "CALLS=$calls"',
  ].join("\n");
  const folder = await mkdtemp(path.join(os.tmpdir(), "latchkey-docs-"));
  try {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile("bash", ["-c", program], { cwd: folder, env: { ...process.env, ...values }, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    return { code, stdout, stderr, calls: Number(/CALLS=(\d+)/.exec(stdout)?.[1] ?? -1), files: await readdir(folder) };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const curlCount = (blocks: string[]) => blocks.join("\n").match(/^curl /gm)?.length ?? 0;

async function statusOf(id: string): Promise<string | null> {
  const [row] = await db().select({ status: apiKeys.status }).from(apiKeys).where(eq(apiKeys.id, id));
  return row?.status ?? null;
}

describe("README.md's API examples", () => {
  it("run top to bottom as written, every answer below 400, and do what they say", async () => {
    const blocks = apiBlocks(await readFile(path.join(ROOT, "README.md"), "utf8"));
    expect(blocks.length).toBeGreaterThan(0);
    const key = (await createApiKey(admin, { name: "readme key", access_level: "read_write" })).secret;
    const own = (await createApiKey(admin, { name: "readme rotated", access_level: "read_only" })).key.id;
    const anyone = (await createApiKey(staff, { name: "readme anyone", access_level: "read_only" })).key.id;
    const run = await runBlocks(
      blocks,
      { KEY: key, KEY_ID: own, ADMIN_KEY: key, ANY_KEY_ID: anyone },
      { "http://localhost:3000": api.origin },
    );
    expect(run.stderr, run.stdout).toBe("");
    expect(run.code).toBe(0);
    expect(run.calls).toBe(curlCount(blocks));
    expect(run.stdout).toContain('{"data":"pong!"}');
    // The key the examples rotated, disabled and deleted is gone; the one they disabled as an admin is disabled.
    expect(await statusOf(own)).toBeNull();
    expect(await statusOf(anyone)).toBe("disabled");
    const names = (await listOwnApiKeysPage(admin, { limit: 100 })).entries.map((entry) => entry.name);
    expect(names).toContain("Billing sync");
    expect(run.files).toContain("keys.csv");
  });
});

describe("docs/API.md's examples", () => {
  it("run top to bottom as written, every answer below 400, and do what they say", async () => {
    const blocks = apiBlocks(await readFile(path.join(ROOT, "docs", "API.md"), "utf8"));
    expect(blocks.length).toBeGreaterThan(5);
    const key = (await createApiKey(admin, { name: "docs key", access_level: "read_write" })).secret;
    const own = (await createApiKey(admin, { name: "docs rotated", access_level: "read_only" })).key.id;
    await createApiKey(admin, { name: "docs third", access_level: "read_only" });
    const anyone = (await createApiKey(staff, { name: "docs anyone", access_level: "read_only" })).key.id;
    const service = (await createApiKey(staff, { name: "docs service", access_level: "read_only" })).secret;
    // The cursor the list's first page (per_page=2) answers, as the next-page example needs.
    const first = await fetch(`${api.origin}/api/v1/api_keys?per_page=2`, { headers: { authorization: `Bearer ${key}` } });
    const cursor = ((await first.json()) as { cursor: string | null }).cursor;
    expect(cursor).not.toBeNull();
    const run = await runBlocks(blocks, {
      LATCHKEY: api.origin,
      KEY: key,
      KEY_ID: own,
      SERVICE_KEY: service,
      CURSOR: cursor!,
      ANY_KEY_ID: anyone,
    });
    expect(run.stderr, run.stdout).toBe("");
    expect(run.code).toBe(0);
    expect(run.calls).toBe(curlCount(blocks));
    expect(await statusOf(own)).toBeNull();
    expect(await statusOf(anyone)).toBe("disabled");
    const names = (await listOwnApiKeysPage(admin, { limit: 100 })).entries.map((entry) => entry.name);
    expect(names).toContain("Grafana");
    expect(run.files.some((file) => /^latchkey-api-keys-\d{4}-\d{2}-\d{2}\.csv$/.test(file))).toBe(true);
  });
});
