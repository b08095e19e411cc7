import { BlockList, isIP } from "node:net";

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
  const entries = value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
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
