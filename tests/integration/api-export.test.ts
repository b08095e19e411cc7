/**
 * The CSV exports (SPEC §13) over HTTP (server/api/node.ts's listener, as served): RFC 4180 with
 * a header row, quoting, the formula-injection guard, every matching row (the same rows as the
 * JSON walk of the same filters), each export audited once with its filters, and 100,000 rows
 * streamed in bounded memory (retained heap and buffers measured after forced collections while
 * the export is read, against the size of the CSV).
 */
// First: the API's schemas extend zod (.openapi) before any other module builds one.
import { serveApi } from "../helpers/api-server";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { and, eq, gt } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditLog } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { createKeyring } from "@/lib/config/keyring";
import { API_KEY_CSV_HEADER, AUDIT_LOG_CSV_HEADER, exportApiKeysCsv } from "@/lib/export/csv";
import { createApiKey } from "@/lib/keys/service";
import { connection, db, keyCache } from "@/lib/runtime";
import { seedBulk } from "@/lib/seed";
import { adminApiKeyListResponse, auditLogListResponse } from "@/server/api/schemas";
import { accessManagerQueryOf } from "@/lib/validation/admin";
import { setupTestDatabase, TEST_SECRET } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let api: Awaited<ReturnType<typeof serveApi>>;
let origin: string;
let admin: Actor;
let adminKey: string;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off");
  api = await serveApi({ keyRateLimit: 0, authFailureLimit: 0 });
  origin = api.origin;
  admin = await makeUser("admin", { name: 'Ada "The Auditor", Admin' });
  adminKey = (await createApiKey(admin, { name: "exporter", access_level: "read_only" })).secret;
});
afterAll(async () => {
  await api.close();
  await teardown();
});

const get = (path: string, accept = "text/csv") =>
  fetch(`${origin}/api/v1${path}`, { headers: { authorization: `Bearer ${adminKey}`, accept, "x-latchkey-client-ip": "192.0.2.60" } });

/** RFC 4180, strictly: CRLF records, quoted fields with doubled quotes. Throws on anything else. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        if (quote === -1) throw new Error("unterminated quoted field");
        cell += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          cell += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
    } else {
      const end = text.slice(i).search(/,|\r\n/);
      cell = end === -1 ? text.slice(i) : text.slice(i, i + end);
      if (cell.includes('"') || cell.includes("\n") || cell.includes("\r")) throw new Error(`unquoted special character in ${cell}`);
      i += cell.length;
    }
    row.push(cell);
    if (text.startsWith("\r\n", i)) {
      records.push(row);
      row = [];
      i += 2;
    } else if (text[i] === ",") i++;
    else if (i < text.length) throw new Error(`unexpected ${JSON.stringify(text[i])} at ${i}`);
  }
  if (row.length) throw new Error("the last record has no CRLF");
  return records;
}

/** Every id of the JSON walk of the same filters. */
async function jsonIds(path: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const separator = path.includes("?") ? "&" : "?";
    const response = await get(`${path}${separator}limit=200${cursor ? `&cursor=${cursor}` : ""}`, "application/json");
    const page = (path.startsWith("/admin/audit_log") ? auditLogListResponse : adminApiKeyListResponse).parse(await response.json());
    ids.push(...page.entries.map((entry) => String(entry.id)));
    if (!page.cursor) return ids;
    cursor = page.cursor;
  }
}

describe("the keys' CSV", () => {
  let tricky: Record<string, string>;
  beforeAll(async () => {
    const holder = await makeUser("staff", { name: 'Comma, Quote " Person' });
    tricky = {};
    for (const name of ['=HYPERLINK("http://x")', "+1 555", "-2 minus", "@SUM(A1)", "plain, with comma", 'say "hi"']) {
      tricky[name] = (await createApiKey(holder, { name, access_level: "read_only" })).key.id;
    }
  });

  it("is RFC 4180 with its header row, quoting, and a leading ' on formula-like cells; the same rows as the JSON walk", async () => {
    const response = await get("/admin/api_keys?sort=name");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const today = new Date().toISOString().slice(0, 10);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="latchkey-api-keys-${today}.csv"`);
    const text = await response.text();
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...API_KEY_CSV_HEADER]);
    expect(rows.map((row) => row[0])).toEqual(await jsonIds("/admin/api_keys?sort=name"));
    const byId = new Map(rows.map((row) => [row[0]!, Object.fromEntries(header!.map((name, i) => [name, row[i]!]))]));
    expect(byId.get(tricky['=HYPERLINK("http://x")']!)!.name).toBe('\'=HYPERLINK("http://x")');
    expect(byId.get(tricky["+1 555"]!)!.name).toBe("'+1 555");
    expect(byId.get(tricky["-2 minus"]!)!.name).toBe("'-2 minus");
    expect(byId.get(tricky["@SUM(A1)"]!)!.name).toBe("'@SUM(A1)");
    expect(byId.get(tricky["plain, with comma"]!)!.name).toBe("plain, with comma");
    expect(byId.get(tricky['say "hi"']!)!).toMatchObject({
      name: 'say "hi"',
      user_name: 'Comma, Quote " Person',
      access_level: "read_only",
      state: "active",
      user_role: "staff",
      user_type: "person",
      expires_at: "",
      disabled_by_admin: "false",
    });
    // The raw text quotes what needs it, and nothing is a formula.
    expect(text).toContain('"say ""hi"""');
    expect(text).toContain('"\'=HYPERLINK(""http://x"")"');
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it("has every matching row for filters, and is audited once with them (as the key)", async () => {
    const since = (await db().select({ id: auditLog.id }).from(auditLog).orderBy(auditLog.id)).at(-1)?.id ?? 0;
    const response = await get("/admin/api_keys?q=comma&role=staff&sort=-name");
    const [, ...rows] = parseCsv(await response.text());
    expect(rows.map((row) => row[0])).toEqual(await jsonIds("/admin/api_keys?q=comma&role=staff&sort=-name"));
    expect(rows.length).toBe(6); // the holder's name matches
    const audited = await db()
      .select()
      .from(auditLog)
      .where(and(gt(auditLog.id, since), eq(auditLog.action, "export.api_keys")));
    expect(audited).toHaveLength(1);
    expect(audited[0]!.metadata).toEqual({ filters: { q: "comma", role: "staff", sort: "-name" } });
    expect(audited[0]!.actorKeyId).not.toBeNull();
  });

  it("with a cursor or a limit: 422 naming it, nothing audited", async () => {
    const since = (await db().select({ id: auditLog.id }).from(auditLog).orderBy(auditLog.id)).at(-1)?.id ?? 0;
    for (const param of ["limit=5", "cursor=abc"]) {
      const response = await get(`/admin/api_keys?${param}`);
      expect(response.status).toBe(422);
      expect(((await response.json()) as { param: string }).param).toBe(param.split("=")[0]);
    }
    expect(await db().select().from(auditLog).where(gt(auditLog.id, since))).toEqual([]);
  });
});

describe("the audit log's CSV", () => {
  it("has every matching entry, newest first, metadata as JSON (quoted); audited once", async () => {
    const path = "/admin/audit_log?action=export.api_keys";
    const expected = await jsonIds(path);
    const response = await get(path);
    const today = new Date().toISOString().slice(0, 10);
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="latchkey-audit-log-${today}.csv"`);
    const [header, ...rows] = parseCsv(await response.text());
    expect(header).toEqual([...AUDIT_LOG_CSV_HEADER]);
    expect(rows.map((row) => row[0])).toEqual(expected);
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.parse(rows[0]![8]!)).toMatchObject({ filters: expect.any(Object) });
    const [exported] = await db().select().from(auditLog).where(eq(auditLog.action, "export.audit_log"));
    expect(exported!.metadata).toEqual({ filters: { action: "export.api_keys" } });
  });
});

describe("100,000 keys, streamed", () => {
  beforeAll(async () => {
    await seedBulk(connection().sql, createKeyring(TEST_SECRET), 100_000, "x");
  }, 300_000);

  it("over HTTP, every row arrives, in many chunks", async () => {
    const total = await db().$count(apiKeys);
    expect(total).toBeGreaterThan(100_000);
    const response = await get("/admin/api_keys?sort=name");
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let bytes = 0;
    let lines = 0;
    let chunks = 0;
    let tail = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      chunks++;
      const parts = (tail + decoder.decode(value, { stream: true })).split("\r\n");
      tail = parts.pop()!;
      lines += parts.length;
    }
    expect(tail).toBe("");
    expect(lines).toBe(total + 1); // the header and every key
    expect(bytes).toBeGreaterThan(10_000_000);
    expect(chunks).toBeGreaterThan(50); // streamed, not one body
  }, 300_000);

  it("the export holds a batch at a time: memory retained while it is read stays under a quarter of the CSV's size", async () => {
    // The export itself (what the API and the page's route both stream), read in this process, so
    // what is measured is the export's own memory, not a client's or the network's buffers.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // The JavaScript heap, where rows and their text live (holding the export would show there).
    // Not arrayBuffers: the embedded database's WebAssembly memory is counted there, and it grows
    // in steps of its own whatever the export does.
    const retained = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const baseline = retained();
    const exported = await exportApiKeysCsv(admin, accessManagerQueryOf({ sort: "name" }), { sort: "name" });
    const reader = exported.stream.getReader();
    let bytes = 0;
    let chunks = 0;
    let peak = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (++chunks % 5 === 0) peak = Math.max(peak, retained() - baseline);
    }
    expect(chunks).toBeGreaterThan(100); // the header, then a chunk per batch of 1,000
    expect(bytes).toBeGreaterThan(20_000_000);
    // Holding the export (or its rows) would retain at least its own size; a batch at a time retains one batch.
    expect(peak).toBeLessThan(bytes / 4);
  }, 300_000);
});

describe("Accept is negotiated (RFC 9110 §12.5.1), with q-values", () => {
  it.each([
    ["text/csv", "csv"],
    ["TEXT/CSV; charset=utf-8", "csv"],
    ["text/*", "csv"],
    ["text/csv, application/json", "csv"],
    ["text/csv;charset=latin1", "json"],
    ["application/json;q=0.5, text/csv", "csv"],
    ["text/csv;q=0.5, */*;q=0.1", "csv"],
    ["text/csv;q=0", "json"],
    ["application/json, text/csv;q=0.1", "json"],
    ["application/json, text/csv", "json"],
    ["*/*", "json"],
    ["text/csv;q=0, */*", "json"],
    ["text/html", "json"],
  ])("Accept: %s -> %s, on both lists", async (accept, expected) => {
    for (const path of ["/admin/api_keys", "/admin/audit_log"]) {
      const response = await get(path, accept);
      expect(response.status, `${path} ${accept}`).toBe(200);
      const type = response.headers.get("content-type") ?? "";
      expect(type, `${path} ${accept}`).toMatch(expected === "csv" ? /^text\/csv/ : /^application\/json/);
      await response.body?.cancel();
    }
  });
});
