import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeyring, type Keyring } from "@/lib/config/keyring";
import { digestApiKey, openSecret, sealSecret } from "../crypto";
import { generateApiKey } from "../format";

const ring = createKeyring("a-test-secret-that-is-long-enough-0123456789");
const otherRing = createKeyring("another-test-secret-that-is-long-enough-987654");

describe("key encryption (AES-256-GCM)", () => {
  it("round-trips, with a fresh nonce each time", () => {
    const key = generateApiKey();
    const id = randomUUID();
    const a = sealSecret(key, id, ring);
    const b = sealSecret(key, id, ring);
    expect(openSecret(a, id, ring)).toBe(key);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(Buffer.from(a.nonce, "base64")).toHaveLength(12);
    expect(a.ciphertext).not.toContain(key);
  });

  it("fails when the ciphertext is tampered with", () => {
    const id = randomUUID();
    const sealed = sealSecret(generateApiKey(), id, ring);
    const bytes = Buffer.from(sealed.ciphertext, "base64");
    for (const index of [0, 10, bytes.length - 1]) {
      const copy = Buffer.from(bytes);
      copy[index] = copy[index]! ^ 1;
      expect(() => openSecret({ ...sealed, ciphertext: copy.toString("base64") }, id, ring)).toThrow();
    }
    expect(() => openSecret({ ...sealed, ciphertext: "" }, id, ring)).toThrow();
  });

  it("fails when the nonce is changed", () => {
    const id = randomUUID();
    const sealed = sealSecret(generateApiKey(), id, ring);
    const nonce = Buffer.from(sealed.nonce, "base64");
    nonce[0] = nonce[0]! ^ 1;
    expect(() => openSecret({ ...sealed, nonce: nonce.toString("base64") }, id, ring)).toThrow();
  });

  it("fails when the ciphertext is moved to another row (the id is the AAD)", () => {
    const sealed = sealSecret(generateApiKey(), randomUUID(), ring);
    expect(() => openSecret(sealed, randomUUID(), ring)).toThrow();
  });

  it("fails with the wrong key version or another server secret", () => {
    const id = randomUUID();
    const sealed = sealSecret(generateApiKey(), id, ring);
    expect(() => openSecret({ ...sealed, version: sealed.version + 1 }, id, ring)).toThrow();
    expect(() => openSecret(sealed, id, otherRing)).toThrow();
  });

  it("decrypts a secret sealed under an older key version", () => {
    const v2: Keyring = { version: 2, derive: (purpose, version = 2) => ring.derive(purpose, version) };
    const id = randomUUID();
    const old = sealSecret("lk_old", id, ring);
    expect(old.version).toBe(1);
    expect(openSecret(old, id, v2)).toBe("lk_old");
    expect(sealSecret("lk_new", id, v2).version).toBe(2);
  });
});

describe("lookup digest (HMAC-SHA256)", () => {
  it("is deterministic per secret, differs across keys and secrets", () => {
    const key = generateApiKey();
    expect(digestApiKey(key, ring)).toBe(digestApiKey(key, ring));
    expect(digestApiKey(key, ring)).toMatch(/^[0-9a-f]{64}$/);
    expect(digestApiKey(key, ring)).not.toBe(digestApiKey(generateApiKey(), ring));
    expect(digestApiKey(key, ring)).not.toBe(digestApiKey(key, otherRing));
  });

  it("derives independent keys per purpose", () => {
    expect(ring.derive("hmac").equals(ring.derive("encryption"))).toBe(false);
    expect(ring.derive("auth").equals(ring.derive("invite"))).toBe(false);
    expect(() => createKeyring("short")).toThrow();
  });
});
