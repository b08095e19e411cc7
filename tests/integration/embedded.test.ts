import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirInUseError, startEmbeddedDatabase } from "@/db/embedded";

// The embedded database is the same whichever server the other integration tests use; run once.
const only = process.env.TEST_DB === "pglite" ? describe : describe.skip;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-embedded-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

only("the embedded database folder", () => {
  it("is opened by one process only: a second opener gets a clear error", async () => {
    const first = await startEmbeddedDatabase(dir);
    try {
      await expect(startEmbeddedDatabase(dir)).rejects.toThrow(DataDirInUseError);
      await expect(startEmbeddedDatabase(dir)).rejects.toThrow(/is in use by another Latchkey process \(pid \d+\)/);
      const sql = postgres(first.url, { max: 1 });
      await sql`create table kept (v text)`;
      await sql`insert into kept values ('still here')`;
      await sql.end();
    } finally {
      await first.stop();
    }
    expect(fs.existsSync(path.join(dir, "latchkey.lock"))).toBe(false);
  });

  it("keeps its data across restarts and takes over a stale lock", async () => {
    // A lock left by a process that no longer exists.
    fs.writeFileSync(path.join(dir, "latchkey.lock"), "999999");
    const again = await startEmbeddedDatabase(dir);
    try {
      const sql = postgres(again.url, { max: 1 });
      expect(await sql`select v from kept`).toEqual([{ v: "still here" }]);
      await sql.end();
    } finally {
      await again.stop();
    }
  });
});
