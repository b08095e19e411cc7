import { Secret, TOTP } from "otpauth";
import { describe, expect, it } from "vitest";
import { checkTotp, formatSetupKey, generateTotpSecret, normaliseTotpCode, totpCodeAt, totpStep, totpUri } from "../totp";

// RFC 6238 appendix B's SHA-1 secret ("12345678901234567890") and its 8-digit vectors; 6 digits are their last six.
const RFC_SECRET = Secret.fromUTF8("12345678901234567890").base32;
const at = (seconds: number) => new Date(seconds * 1000);

describe("TOTP (RFC 6238: SHA-1, 6 digits, 30 s)", () => {
  it.each([
    [59, "287082"],
    [1111111109, "081804"],
    [1111111111, "050471"],
    [1234567890, "005924"],
    [2000000000, "279037"],
  ])("the RFC's vector at %i s is %s", (seconds, code) => {
    expect(totpCodeAt(RFC_SECRET, totpStep(at(seconds)))).toBe(code);
  });

  const secret = generateTotpSecret();
  const now = at(1_700_000_000); // the middle of step 56666666
  const step = totpStep(now);

  // [what, the code's step relative to now, the last used step relative to now (null: none), the outcome]
  const cases: [string, number, number | null, ReturnType<typeof checkTotp>][] = [
    ["the current code", 0, null, { ok: true, step }],
    ["the previous step's code (clock drift)", -1, null, { ok: true, step: step - 1 }],
    ["the next step's code (clock drift)", 1, null, { ok: true, step: step + 1 }],
    ["a code two steps old: expired", -2, null, { ok: false, reason: "wrong" }],
    ["a code two steps ahead", 2, null, { ok: false, reason: "wrong" }],
    ["the current code once more", 0, 0, { ok: false, reason: "reused" }],
    ["an older code after a newer one was used", -1, 0, { ok: false, reason: "reused" }],
    ["the current code after the previous step's was used", 0, -1, { ok: true, step }],
  ];
  it.each(cases)("%s", (_what, offset, lastUsed, outcome) => {
    expect(checkTotp(secret, totpCodeAt(secret, step + offset), now, lastUsed === null ? null : step + lastUsed)).toEqual(outcome);
  });

  it("agrees with otpauth's own TOTP at any moment of a step", () => {
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: "SHA1" });
    for (const t of [now, at(1_700_000_010), at(1_700_000_019.999)]) {
      expect(checkTotp(secret, totp.generate({ timestamp: t.getTime() }), t, null)).toMatchObject({ ok: true });
    }
  });

  it.each(["", "12345", "1234567", "abcdef", "12 34 5x", "１２３４５６"])("refuses %j as wrong (not a 6-digit code)", (input) => {
    expect(checkTotp(secret, input, now, null)).toEqual({ ok: false, reason: "wrong" });
  });

  it("reads a code typed with spaces or a dash", () => {
    expect(normaliseTotpCode(" 123 456 ")).toBe("123456");
    expect(normaliseTotpCode("123-456")).toBe("123456");
    const code = totpCodeAt(secret, step);
    expect(checkTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, now, null)).toEqual({ ok: true, step });
  });

  it("a code of another secret is wrong", () => {
    const other = generateTotpSecret();
    expect(other).not.toBe(secret);
    const code = totpCodeAt(other, step);
    // (One in a million: the two secrets' codes could agree at this step.)
    if (code !== totpCodeAt(secret, step) && code !== totpCodeAt(secret, step - 1) && code !== totpCodeAt(secret, step + 1)) {
      expect(checkTotp(secret, code, now, null)).toEqual({ ok: false, reason: "wrong" });
    }
  });

  it("makes 160-bit base32 secrets, an otpauth URI with issuer Latchkey and the email, and a readable Setup key", () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(totpUri(secret, "ana@example.test"));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/Latchkey:ana@example.test");
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      issuer: "Latchkey",
      secret,
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
    expect(formatSetupKey("ABCDEFGHIJKLMNOP")).toBe("ABCD EFGH IJKL MNOP");
    expect(formatSetupKey(secret).replace(/ /g, "")).toBe(secret);
  });
});
