import { BlockList, isIP } from "node:net";

/**
 * The header the Latchkey server sets on every request it hands to Next.js, holding the client's
 * address. The server overwrites any value a client sends, so code behind it can trust it.
 */
export const CLIENT_IP_HEADER = "x-latchkey-client-ip";

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

export function clientIpFrom(headers: HeaderBag): string | null {
  const raw = headers instanceof Headers ? headers.get(CLIENT_IP_HEADER) : headers[CLIENT_IP_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value && /^[0-9a-fA-F:.]{2,45}$/.test(value) ? value : null;
}

/** Names accepted in LATCHKEY_TRUSTED_PROXIES for common ranges (the names express's proxy-addr uses). */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
};

/** Which hops in front of the server are proxies whose X-Forwarded-For entries can be believed. */
export interface ProxyTrust {
  /** Addresses (CIDR ranges) of trusted proxies: LATCHKEY_TRUSTED_PROXIES. */
  ranges?: BlockList;
  /** Trust the socket's peer whatever its address (LATCHKEY_TRUST_PROXY=1, kept for compatibility). */
  immediatePeer?: boolean;
}

/**
 * Parses LATCHKEY_TRUSTED_PROXIES: comma-separated CIDR ranges (`10.0.0.0/8`, `fd00::/8`), single
 * addresses, or the names loopback, linklocal, uniquelocal. Throws an Error naming the bad entry.
 */
export function parseTrustedProxies(value: string): BlockList {
  const list = new BlockList();
  const entries = value.split(",").map((entry) => entry.trim()).filter(Boolean);
  if (!entries.length) throw new Error("list at least one CIDR range, e.g. 10.0.0.0/8");
  for (const entry of entries.flatMap((entry) => NAMED_RANGES[entry.toLowerCase()] ?? [entry])) {
    const [address = "", prefix, ...rest] = entry.split("/");
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    const max = family === 6 ? 128 : 32;
    if (!family || rest.length || !/^\d*$/.test(prefix ?? "") || prefix === "" || !Number.isInteger(bits) || bits < 0 || bits > max) {
      throw new Error(`"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 192.168.1.10, fd00::/8)`);
    }
    list.addSubnet(address, bits, family === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

/**
 * One address as it appears on a socket or in X-Forwarded-For, in plain form: IPv4-mapped IPv6
 * as IPv4, brackets and ports removed, IPv6 in lower case. Null when it is not an IP address.
 */
export function normalizeAddress(raw: string | undefined): string | null {
  let value = raw?.trim();
  if (!value) return null;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(value)) value = value.slice(0, value.indexOf(":")); // 192.0.2.1:4711
  const family = isIP(value);
  if (!family) return null;
  if (family === 4) return value;
  value = value.toLowerCase();
  if (value.startsWith("::ffff:")) {
    const tail = value.slice(7);
    if (isIP(tail) === 4) return tail;
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail);
    if (hex) {
      const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
      return [high >> 8, high & 255, low >> 8, low & 255].join(".");
    }
  }
  return value;
}

function isTrusted(address: string, hop: number, trust: ProxyTrust): boolean {
  if (hop === 0 && trust.immediatePeer) return true;
  return trust.ranges?.check(address, isIP(address) === 6 ? "ipv6" : "ipv4") ?? false;
}

/**
 * The client's address for a raw Node request: walking from the socket's peer leftwards through
 * X-Forwarded-For, the first (right-most) address that is not a trusted proxy. Only trusted
 * proxies' entries are read, so whatever a client wrote to the left of them is ignored. An entry
 * that is not an address stops the walk at the proxy that passed it on.
 */
export function resolveClientIp(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: ProxyTrust = {},
): string | null {
  let client = normalizeAddress(socketAddress);
  if (!client) return null;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  const hops = header.split(",").reverse(); // right-most first: the hop nearest to us
  for (let hop = 0; isTrusted(client, hop, trust); hop++) {
    if (hop >= hops.length || !hops[hop]!.trim()) return client; // every hop trusted: the furthest is the client
    const next = normalizeAddress(hops[hop]);
    if (!next) return client;
    client = next;
  }
  return client;
}
