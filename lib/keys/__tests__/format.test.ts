import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  base62,
  checksumOf,
  crc32,
  displayParts,
  generateApiKey,
  isWellFormedApiKey,
  KEY_LENGTH,
  KEY_PATTERN,
  maskApiKey,
} from "../format";

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe("API key format", () => {
  it("is lk_ + 49 base62 characters, matched by the scanner pattern", () => {
    const key = generateApiKey();
    expect(key).toHaveLength(KEY_LENGTH);
    expect(key).toMatch(/^lk_[0-9A-Za-z]{49}$/);
    expect(KEY_PATTERN.test(`token=${key};`)).toBe(true);
    expect(isWellFormedApiKey(key)).toBe(true);
  });

  it("encodes any 32 bytes into a well-formed key, injectively", () => {
    fc.assert(
      fc.property(bytes32, bytes32, (a, b) => {
        const ka = generateApiKey(a);
        const kb = generateApiKey(b);
        expect(isWellFormedApiKey(ka)).toBe(true);
        expect(ka === kb).toBe(Buffer.from(a).equals(Buffer.from(b)));
      }),
    );
  });

  it("encodes the extremes: all zero bytes and all 0xff bytes", () => {
    expect(generateApiKey(new Uint8Array(32))).toMatch(/^lk_0{43}[0-9A-Za-z]{6}$/);
    const max = generateApiKey(new Uint8Array(32).fill(255));
    expect(isWellFormedApiKey(max)).toBe(true);
    expect(BigInt(`0x${"ff".repeat(32)}`) < 62n ** 43n).toBe(true);
  });

  it("rejects a key with any single character changed (the checksum catches it)", () => {
    fc.assert(
      fc.property(bytes32, fc.integer({ min: 3, max: KEY_LENGTH - 1 }), fc.integer({ min: 1, max: 61 }), (b, pos, shift) => {
        const key = generateApiKey(b);
        const replaced = BASE62[(BASE62.indexOf(key[pos]!) + shift) % 62]!;
        const tampered = key.slice(0, pos) + replaced + key.slice(pos + 1);
        expect(isWellFormedApiKey(tampered)).toBe(false);
      }),
    );
  });

  it("rejects wrong prefixes, lengths and alphabets", () => {
    const key = generateApiKey();
    for (const bad of [
      "",
      "lk_",
      key.slice(0, -1),
      `${key}a`,
      `LK_${key.slice(3)}`,
      `sk_${key.slice(3)}`,
      key.replace(/.$/, "-"),
      ` ${key}`,
    ]) {
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
  });

  it("computes CRC-32 exactly as zlib does", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary-ascii" }), (s) => {
        expect(crc32(s)).toBe(zlibCrc32(Buffer.from(s, "latin1")));
      }),
    );
    expect(crc32("123456789")).toBe(0xcbf43926);
  });

  it("writes base62 with fixed width and refuses overflow", () => {
    expect(base62(0n, 3)).toBe("000");
    expect(base62(61n, 2)).toBe("0z");
    expect(base62(62n, 2)).toBe("10");
    expect(() => base62(62n ** 2n, 2)).toThrow(RangeError);
    expect(checksumOf("a")).toHaveLength(6);
  });

  it("masks a key to its prefix and last 4 characters", () => {
    const key = generateApiKey();
    const { prefix, last4 } = displayParts(key);
    expect(prefix).toBe(key.slice(0, 7));
    expect(last4).toBe(key.slice(-4));
    const masked = maskApiKey(prefix, last4);
    expect(masked.startsWith(prefix)).toBe(true);
    expect(masked.endsWith(last4)).toBe(true);
    expect(masked).not.toContain(key.slice(7, -4));
  });

  it("refuses to build a key from anything but 32 bytes", () => {
    expect(() => generateApiKey(new Uint8Array(31))).toThrow(RangeError);
  });
});
