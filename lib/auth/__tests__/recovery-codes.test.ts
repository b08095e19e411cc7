import { describe, expect, it } from "vitest";
import { createKeyring } from "@/lib/config/keyring";
import { generateRecoveryCodes, normaliseRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeDigest } from "../recovery-codes";

describe("recovery codes", () => {
  it("ten distinct codes shaped xxxxx-xxxxx in lowercase Crockford base32", () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(RECOVERY_CODE_COUNT).toBe(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
  });

  it.each([
    ["k3f9a-2mx7q", "k3f9a2mx7q"],
    ["K3F9A-2MX7Q", "k3f9a2mx7q"],
    ["  k3f9a 2mx7q ", "k3f9a2mx7q"],
    ["k3f9a2mx7q", "k3f9a2mx7q"],
    ["k-3-f-9-a-2-m-x-7-q", "k3f9a2mx7q"],
    // Crockford: i and l read as 1, o as 0.
    ["kIf9a-2mxLo", "k1f9a2mx10"],
  ])("normalises %j to %j", (input, expected) => {
    expect(normaliseRecoveryCode(input)).toBe(expected);
  });

  it.each(["", "k3f9a-2mx7", "k3f9a-2mx7qq", "k3f9a-2mx7u", "123456", "k3f9a_2mx7q", "k3f9a-2mx7é"])("refuses %j", (input) => {
    expect(normaliseRecoveryCode(input)).toBeNull();
  });

  it("every generated code survives normalisation as it is shown", () => {
    for (const code of generateRecoveryCodes()) expect(normaliseRecoveryCode(code)).toBe(code.replace("-", ""));
  });

  it("digests are keyed by the server secret and bound to the person", () => {
    const ring = createKeyring("a".repeat(40));
    const other = createKeyring("b".repeat(40));
    const digest = recoveryCodeDigest("k3f9a2mx7q", "user-1", ring);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(recoveryCodeDigest("k3f9a2mx7q", "user-1", ring)).toBe(digest);
    expect(recoveryCodeDigest("k3f9a2mx7q", "user-2", ring)).not.toBe(digest);
    expect(recoveryCodeDigest("k3f9a2mx7q", "user-1", other)).not.toBe(digest);
    expect(recoveryCodeDigest("k3f9a2mx7r", "user-1", ring)).not.toBe(digest);
  });
});
