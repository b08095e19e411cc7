import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/runtime";
import { recordAudit } from "@/lib/audit/service";
import { listAuditLog } from "@/lib/audit/query";
import type { Actor } from "@/lib/auth/actor";
import { parseAuditLogQuery, type AuditLogQuery } from "@/lib/validation/admin";
import { setupTestDatabase } from "../helpers/db";
import { expectUnchanged, makeUser, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let admin: Actor;
let sam: Actor;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  admin = await makeUser("admin", { email: "admin@example.test" });
  sam = await makeUser("staff", { email: "sam@example.test" });
  // 60 rows in one known order: alternating actors and actions.
  for (let i = 1; i <= 60; i++) {
    const who = i % 2 ? admin : sam;
    await recordAudit(db(), who, {
      action: i % 3 ? "api_key.created" : "api_key.deleted",
      targetType: "api_key",
      targetId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      targetLabel: i === 7 ? "100%_special" : `key ${i}`,
    });
  }
  await recordAudit(
    db(),
    { ip: "203.0.113.5", label: "Someone@Example.test" },
    { action: "auth.sign_in_failed", targetType: "user", targetLabel: "someone@example.test" },
  );
});
afterAll(() => teardown());

const q = (params: Record<string, string> = {}): AuditLogQuery => parseAuditLogQuery(params);

describe("the audit log", () => {
  it.each(["staff", "read_only", "lite"] as const)("is refused to %s, and the refusal changes nothing", async (role) => {
    const actor = await makeUser(role);
    const before = await snapshot();
    await expect(listAuditLog(actor, q())).rejects.toMatchObject({ code: "forbidden", message: "You do not have permission to do that." });
    await expectUnchanged(before);
  });

  it.each(["owner", "admin"] as const)("is read by %s without writing to it", async (role) => {
    const actor = role === "admin" ? admin : await makeUser("owner");
    const before = await snapshot();
    await expect(listAuditLog(actor, q({ size: "100" }))).resolves.toMatchObject({ entries: expect.any(Array) });
    await expectUnchanged(before);
  });

  it("lists newest first with actor, action, target, time and IP", async () => {
    const page = await listAuditLog(admin, q());
    expect(page.entries).toHaveLength(25);
    expect(page.entries[0]).toMatchObject({ action: "auth.sign_in_failed", actorLabel: "Someone@Example.test", ip: "203.0.113.5" });
    expect(page.entries[1]).toMatchObject({
      action: "api_key.deleted",
      actorLabel: "sam@example.test",
      targetLabel: "key 60",
      ip: "127.0.0.1",
    });
    const ids = page.entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(page.newer).toBeNull();
    expect(page.older).toBe(ids[ids.length - 1]);
  });

  it("pages older and back newer without gaps or repeats", async () => {
    const everything: number[] = [];
    let page = await listAuditLog(admin, q({ size: "10" }));
    const firstIds = page.entries.map((e) => e.id);
    everything.push(...firstIds);
    while (page.older) {
      page = await listAuditLog(admin, q({ size: "10", before: String(page.older) }));
      everything.push(...page.entries.map((e) => e.id));
    }
    expect(everything).toHaveLength(61);
    expect(new Set(everything).size).toBe(everything.length);
    expect(everything).toEqual([...everything].sort((a, b) => b - a));

    // From the second page, "newer" leads back to exactly the first.
    const second = await listAuditLog(admin, q({ size: "10", before: String(firstIds[firstIds.length - 1]) }));
    const back = await listAuditLog(admin, q({ size: "10", after: String(second.newer) }));
    expect(back.entries.map((e) => e.id)).toEqual(firstIds);
    expect(back.newer).toBeNull();
  });

  it.each([
    [{ action: "api_key.deleted" }, 20, (e: { action: string }) => e.action === "api_key.deleted"],
    [{ actor: "SAM@" }, 30, (e: { actorLabel: string }) => e.actorLabel === "sam@example.test"],
    [{ actor: "sam", action: "api_key.deleted" }, 10, () => true],
    [{ target: "key 1" }, 11, () => true], // key 1, key 10..19
    [{ target: "00000000-0000-4000-8000-000000000042" }, 1, () => true],
    [{ target: "100%_" }, 1, () => true],
    // Actor and Target match "contains", in any case (a prefix match found none of these).
    [{ actor: "EXAMPLE.test" }, 61, () => true],
    [{ actor: "am@" }, 30, (e: { actorLabel: string }) => e.actorLabel === "sam@example.test"],
    [{ actor: "ONE@exa" }, 1, (e: { actorLabel: string }) => e.actorLabel === "Someone@Example.test"],
    [{ target: "EY 4" }, 11, () => true], // key 4, key 40..49
    [{ target: "special" }, 1, (e: { targetLabel: string }) => e.targetLabel === "100%_special"],
    // LIKE's wildcards are literal: only "100%_special" holds a % or a _ (as a pattern, each matched every row).
    [{ target: "key%1" }, 0, () => true],
    [{ target: "KEY_1" }, 0, () => true],
    [{ target: "%_special" }, 1, (e: { targetLabel: string }) => e.targetLabel === "100%_special"],
    [{ target: "%" }, 1, (e: { targetLabel: string }) => e.targetLabel === "100%_special"],
    [{ target: "_" }, 1, (e: { targetLabel: string }) => e.targetLabel === "100%_special"],
    [{ target: "0%_s" }, 1, () => true],
    [{ target: "y%1" }, 0, () => true],
    [{ actor: "_" }, 0, () => true],
    // No three letters or digits in a row (no trigram to look up): still a "contains" match.
    [{ actor: "sa" }, 30, (e: { actorLabel: string }) => e.actorLabel === "sam@example.test"],
    [{ actor: "M" }, 61, () => true],
    // An id matches only whole; labels never match an id's middle.
    [{ target: "0000-4000-8000" }, 0, () => true],
    [{ target: "nothing like it" }, 0, () => true],
    [{ target: "EXAMPLE", action: "auth.sign_in_failed" }, 1, (e: { targetLabel: string }) => e.targetLabel === "someone@example.test"],
  ])("filters by %j", async (filter, count, keep) => {
    const page = await listAuditLog(admin, q({ ...filter, size: "100" }));
    expect(page.entries).toHaveLength(count);
    expect(page.entries.every((e) => keep(e as never))).toBe(true);
  });

  it.each([
    [{ action: "user.hacked" }, { action: undefined }],
    [{ before: "-1" }, { before: undefined }],
    [{ before: "abc" }, { before: undefined }],
    [{ size: "5000" }, { size: 25 }],
    [{ actor: "x".repeat(400) }, { actor: "x".repeat(254) }],
  ])("bad URL state %j falls back to %j", async (raw, expected) => {
    const query = q(raw);
    expect(query).toMatchObject(expected);
    await expect(listAuditLog(admin, query)).resolves.toBeDefined();
  });

  it("starts again from the newest entry for a cursor that never existed", async () => {
    const page = await listAuditLog(admin, q({ before: "999999" }));
    expect(page.entries[0]!.action).toBe("auth.sign_in_failed");
    expect(page.query.before).toBeUndefined();
  });

  it("is append-only: no code in the app updates or deletes audit rows", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.tsx?$/.test(entry.name)) {
          const text = fs.readFileSync(file, "utf8");
          if (/\.(update|delete)\(\s*auditLog\b/.test(text) || /(update|delete\s+from)\s+"?audit_log\b/i.test(text))
            offenders.push(path.relative(root, file));
        }
      }
    };
    for (const dir of ["app", "lib", "db", "components"]) walk(path.join(root, dir));
    expect(offenders).toEqual([]);
  });
});
