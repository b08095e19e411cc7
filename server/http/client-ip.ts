import type { IncomingMessage } from "node:http";
import { isIP, type Socket } from "node:net";
import { CLIENT_IP_HEADER } from "@/lib/auth/client-ip";
import type { ProxyTrust } from "@/lib/config/proxies";

export { CLIENT_IP_HEADER };

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

/**
 * resolveClientIp for a whole request, under `trust`. Without an X-Forwarded-For header the answer
 * depends on the connection alone, so it is worked out once per connection (a kept-alive client
 * sends many requests on one) and kept with it; with one, it is worked out for every request.
 */
export function clientIpResolver(trust: ProxyTrust = {}): (req: IncomingMessage) => string | null {
  const byConnection = new WeakMap<Socket, string | null>();
  return (req) => {
    const forwardedFor = req.headers["x-forwarded-for"];
    if (forwardedFor !== undefined) return resolveClientIp(req.socket.remoteAddress, forwardedFor, trust);
    let ip = byConnection.get(req.socket);
    if (ip === undefined) {
      ip = resolveClientIp(req.socket.remoteAddress, undefined, trust);
      byConnection.set(req.socket, ip);
    }
    return ip;
  };
}
