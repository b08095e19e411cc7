import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readEnv } from "../env";
import { ConfigError, resolveServerSecret } from "../secret";

const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-secret-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the server secret", () => {
  it("uses LATCHKEY_SECRET when set", () => {
    const secret = "s".repeat(40);
    expect(resolveServerSecret({ secret, dataDir: tempDir(), allowGenerate: false })).toBe(secret);
  });

  it("reads LATCHKEY_SECRET_FILE, trimmed, and refuses a short or missing one", () => {
    const dir = tempDir();
    const file = path.join(dir, "s");
    fs.writeFileSync(file, `${"f".repeat(48)}\n`);
    expect(resolveServerSecret({ secretFile: file, dataDir: dir, allowGenerate: false })).toBe("f".repeat(48));
    fs.writeFileSync(file, "short");
    expect(() => resolveServerSecret({ secretFile: file, dataDir: dir, allowGenerate: false })).toThrow(ConfigError);
    expect(() => resolveServerSecret({ secretFile: path.join(dir, "missing"), dataDir: dir, allowGenerate: false })).toThrow(
      /cannot be read/,
    );
  });

  it("generates one into the data folder once (mode 0600), warns, and reuses it", () => {
    const dir = path.join(tempDir(), "data");
    const log = vi.fn();
    const first = resolveServerSecret({ dataDir: dir, allowGenerate: true, log });
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(log).toHaveBeenCalledOnce();
    expect(log.mock.calls[0]![0]).toMatch(/WARNING: LATCHKEY_SECRET is not set/);
    expect(fs.statSync(path.join(dir, "secret")).mode & 0o777).toBe(0o600);
    expect(resolveServerSecret({ dataDir: dir, allowGenerate: true, log })).toBe(first);
    expect(log).toHaveBeenCalledOnce();
  });

  it("stops with a clear message when none is configured and none may be generated", () => {
    expect(() => resolveServerSecret({ dataDir: tempDir(), allowGenerate: false })).toThrow(/LATCHKEY_SECRET .* is required in production/);
  });
});

describe("settings", () => {
  it("has defaults for everything optional", () => {
    expect(readEnv({})).toMatchObject({ PORT: 3000, HOST: "0.0.0.0", LATCHKEY_DATA_DIR: "./data", DATABASE_POOL_MAX: 10 });
    expect(readEnv({}).DATABASE_URL).toBeUndefined();
  });

  it("treats empty values as unset", () => {
    expect(readEnv({ DATABASE_URL: "", PORT: "" }).PORT).toBe(3000);
  });

  it.each([
    [{ PORT: "0" }, "PORT"],
    [{ PORT: "http" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ LATCHKEY_SECRET: "too short" }, "LATCHKEY_SECRET"],
  ])("refuses %j, naming %s", (env, name) => {
    expect(() => readEnv(env)).toThrow(new RegExp(`Invalid configuration:[\\s\\S]*${name}`));
  });
});
