/**
 * The API key format: `lk_` + 43 base62 characters encoding 32 random bytes + a 6-character
 * base62 CRC32 of those 43. Secret scanners match KEY_PATTERN and can reject look-alikes with
 * the checksum without asking the database.
 */
export const KEY_PREFIX = "lk_";
export const BODY_LENGTH = 43;
export const CHECKSUM_LENGTH = 6;
export const KEY_LENGTH = KEY_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH; // 52
export const KEY_PATTERN = /\blk_[0-9A-Za-z]{49}\b/;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const FULL_KEY = /^lk_[0-9A-Za-z]{49}$/;

/** Base62 of a non-negative integer, left-padded with "0" to `width`. */
export function base62(value: bigint, width: number): string {
  let out = "";
  let n = value;
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  if (out.length > width) throw new RangeError(`value needs more than ${width} base62 digits`);
  return out.padStart(width, "0");
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib and PNG) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function checksumOf(body: string): string {
  // A CRC-32 fits a double exactly: base62 in plain numbers, not BigInt (every API request checks one).
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * A new key from 32 bytes of the operating system's CSPRNG (or the bytes given, for tests). Web
 * Crypto's, not node:crypto's (the same source in Node.js): pages import this module for the key's
 * shape and its mask, and a node:crypto import would put a browser polyfill of it in every page
 * (with a `Function` call at load that the CSP reports).
 */
export function generateApiKey(bytes: Uint8Array = globalThis.crypto.getRandomValues(new Uint8Array(32))): string {
  if (bytes.length !== 32) throw new RangeError("an API key is made from exactly 32 bytes");
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  const body = base62(BigInt(`0x${hex}`), BODY_LENGTH);
  return `${KEY_PREFIX}${body}${checksumOf(body)}`;
}

/** True when `value` has the key's shape and a matching checksum; no database involved. */
export function isWellFormedApiKey(value: string): boolean {
  if (value.length !== KEY_LENGTH || !FULL_KEY.test(value)) return false;
  const body = value.slice(KEY_PREFIX.length, KEY_PREFIX.length + BODY_LENGTH);
  return value.slice(KEY_PREFIX.length + BODY_LENGTH) === checksumOf(body);
}

/** What is stored in clear to show a key masked: its first 7 and last 4 characters. */
export function displayParts(key: string): { prefix: string; last4: string } {
  return { prefix: key.slice(0, KEY_PREFIX.length + 4), last4: key.slice(-4) };
}

export function maskApiKey(prefix: string, last4: string): string {
  return `${prefix}${"•".repeat(8)}${last4}`;
}
