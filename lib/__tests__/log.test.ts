import { describe, expect, it } from "vitest";
import { describeError } from "../log";

const digest = "a".repeat(24) + "0123456789abcdef0123456789abcdef0123456789";
const key = "lk_" + "A1b2C3d4".repeat(6) + "x";

describe("describeError", () => {
  it("gives a failed query's class and its cause, never the SQL or its parameters", () => {
    const cause = Object.assign(new Error("refused by a trigger"), { code: "P0001" });
    cause.constructor = class PostgresError extends Error {};
    const failed = new Error(`Failed query: update "api_keys" set "last_used_at" = $1 where "digest" = $2\nparams: 2026-01-01,${digest}`, {
      cause,
    });
    const line = describeError(failed);
    expect(line).toContain("P0001 refused by a trigger");
    expect(line).not.toContain(digest);
    expect(line).not.toMatch(/params|api_keys|update/i);
    expect(line).not.toContain("\n");
  });

  it("blanks out keys and digests wherever a message quotes them", () => {
    const line = describeError(new Error(`bad key ${key} with digest ${digest}`));
    expect(line).not.toContain(key);
    expect(line).not.toContain(digest);
    expect(line).toContain("bad key lk_[redacted] with digest [redacted]");
  });

  it("keeps the code and where it was thrown", () => {
    const line = describeError(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
    expect(line).toMatch(/^Error ECONNREFUSED connect ECONNREFUSED 127\.0\.0\.1:5432 \(at .+log\.test\.ts:\d+:\d+\)$/);
    expect(describeError("a string")).toBe("non-error string");
  });

  it("keeps a long file path in the frame whole (a deep checkout is not a secret)", () => {
    const error = new Error("boom");
    const path = "/srv/builds/" + "checkout-0123456789abcdef".repeat(3) + "/lib/keys/service.ts";
    error.stack = `Error: boom\n    at createKey (${path}:12:34)\n    at next (${path}:56:7)`;
    expect(describeError(error)).toBe(`Error boom (at createKey (${path}:12:34))`);
  });
});
