import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { proxyTrust, readEnv } from "@/lib/config/env";
import { parseTrustedProxies, type ProxyTrust } from "@/lib/config/proxies";
import { clientIpResolver, normalizeAddress, resolveClientIp } from "../client-ip";

const proxies = (value: string): ProxyTrust => ({ ranges: parseTrustedProxies(value) });
const LAN = proxies("10.0.0.0/8, fd00::/8");

describe("the client address behind trusted proxies (LATCHKEY_TRUSTED_PROXIES)", () => {
  it.each<[string, string | undefined, string | string[] | undefined, ProxyTrust, string | null]>([
    ["no proxy trusted: the peer, whatever the header says", "203.0.113.5", "198.51.100.1", {}, "203.0.113.5"],
    ["no header: the peer", "10.0.0.2", undefined, LAN, "10.0.0.2"],
    ["an empty header: the peer", "10.0.0.2", "", LAN, "10.0.0.2"],
    ["one trusted proxy: the entry it appended", "10.0.0.2", "198.51.100.1", LAN, "198.51.100.1"],
    ["a spoofed left-most entry is ignored", "10.0.0.2", "1.2.3.4, 198.51.100.1", LAN, "198.51.100.1"],
    [
      "several spoofed entries, several trusted hops",
      "10.0.0.2",
      "6.6.6.6, 7.7.7.7, 198.51.100.1, 10.1.1.1, 10.2.2.2",
      LAN,
      "198.51.100.1",
    ],
    ["a spoofed entry inside a trusted range cannot reach past the client", "10.0.0.2", "10.9.9.9, 198.51.100.1", LAN, "198.51.100.1"],
    ["an untrusted peer's header is never read", "203.0.113.5", "10.0.0.3, 1.2.3.4", LAN, "203.0.113.5"],
    ["every hop trusted: the furthest one", "10.0.0.2", "10.0.0.9, 10.0.0.8", LAN, "10.0.0.9"],
    ["headers sent twice are read as one list", "10.0.0.2", ["1.2.3.4", "198.51.100.1"], LAN, "198.51.100.1"],
    ["IPv6 client through an IPv6 proxy", "fd00::2", "2001:DB8::1", LAN, "2001:db8::1"],
    ["IPv6 spoofed left-most entry", "fd00::2", "2001:db8::bad, 2001:db8::1", LAN, "2001:db8::1"],
    ["IPv4-mapped IPv6 peer is matched against IPv4 ranges", "::ffff:10.0.0.2", "198.51.100.1", LAN, "198.51.100.1"],
    ["IPv4-mapped IPv6 entry is shown as IPv4", "10.0.0.2", "::ffff:198.51.100.1", LAN, "198.51.100.1"],
    ["IPv4-mapped IPv6 untrusted peer is shown as IPv4", "::ffff:203.0.113.5", "1.2.3.4", LAN, "203.0.113.5"],
    ["entries with ports and brackets", "10.0.0.2", "198.51.100.1:4711, [fd00::3]:443", LAN, "198.51.100.1"],
    ["a garbage entry stops at the proxy that passed it on", "10.0.0.2", "1.2.3.4, not-an-ip", LAN, "10.0.0.2"],
    ["a garbage entry further left is never reached", "10.0.0.2", "<script>, 198.51.100.1", LAN, "198.51.100.1"],
    ["an empty entry stops the walk", "10.0.0.2", "1.2.3.4, , 10.0.0.3", LAN, "10.0.0.3"],
    ["a garbage peer: no address", "nonsense", "198.51.100.1", LAN, null],
    ["no peer: no address", undefined, "198.51.100.1", LAN, null],
    [
      "LATCHKEY_TRUST_PROXY=1 trusts only the immediate peer: the right-most entry",
      "203.0.113.5",
      "1.2.3.4, 198.51.100.1",
      { immediatePeer: true },
      "198.51.100.1",
    ],
    ["LATCHKEY_TRUST_PROXY=1 without a header: the peer", "203.0.113.5", undefined, { immediatePeer: true }, "203.0.113.5"],
    ["named ranges: loopback", "127.0.0.1", "1.2.3.4, 198.51.100.1", proxies("loopback"), "198.51.100.1"],
    [
      "named ranges: uniquelocal covers 172.16/12 and fc00::/7",
      "172.20.0.1",
      "1.2.3.4, 198.51.100.1, fd12::1",
      proxies("uniquelocal"),
      "198.51.100.1",
    ],
    ["a single address as a range", "192.0.2.7", "1.2.3.4, 198.51.100.1", proxies("192.0.2.7"), "198.51.100.1"],
  ])("%s", (_label, peer, header, trust, expected) => {
    expect(resolveClientIp(peer, header, trust)).toBe(expected);
  });

  it("normalises addresses and refuses what is not one", () => {
    expect(normalizeAddress(" ::FFFF:7f00:1 ")).toBe("127.0.0.1");
    expect(normalizeAddress("[::1]")).toBe("::1");
    expect(normalizeAddress("1.2.3.4.5")).toBeNull();
    expect(normalizeAddress("1.2.3.4; drop table")).toBeNull();
    expect(normalizeAddress("")).toBeNull();
  });
});

describe("clientIpResolver", () => {
  const request = (socket: object, forwardedFor?: string) =>
    ({ socket, headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } }) as unknown as IncomingMessage;

  it("answers as resolveClientIp for every request, header or not, on one connection and on several", () => {
    const trust = { immediatePeer: true };
    const ipOf = clientIpResolver(trust);
    const proxy = { remoteAddress: "::ffff:203.0.113.5" };
    const direct = { remoteAddress: "198.51.100.9" };
    // A proxy's connection carries requests with and without the header, in any order.
    const sequence: [object, string | undefined][] = [
      [proxy, undefined],
      [proxy, "1.2.3.4, 192.0.2.1"],
      [proxy, undefined],
      [direct, undefined],
      [proxy, "192.0.2.2"],
      [direct, "192.0.2.3"],
      [direct, undefined],
    ];
    for (const [socket, header] of sequence) {
      const expected = resolveClientIp((socket as { remoteAddress: string }).remoteAddress, header, trust);
      expect(ipOf(request(socket, header))).toBe(expected);
    }
    expect(ipOf(request(proxy))).toBe("203.0.113.5");
    expect(ipOf(request(proxy, "192.0.2.2"))).toBe("192.0.2.2");
  });

  it("never takes a forwarded address from an untrusted peer, before or after remembering the connection", () => {
    const ipOf = clientIpResolver({});
    const peer = { remoteAddress: "198.51.100.9" };
    expect(ipOf(request(peer, "192.0.2.1"))).toBe("198.51.100.9");
    expect(ipOf(request(peer))).toBe("198.51.100.9");
    expect(ipOf(request(peer, "192.0.2.1"))).toBe("198.51.100.9");
  });

  it("answers null for a connection without an address, and keeps that", () => {
    const ipOf = clientIpResolver({});
    const gone = { remoteAddress: undefined };
    expect(ipOf(request(gone))).toBeNull();
    expect(ipOf(request(gone))).toBeNull();
  });
});

describe("LATCHKEY_TRUSTED_PROXIES and LATCHKEY_TRUST_PROXY at start", () => {
  it.each(["10.0.0.0/33", "10.0.0/8", "example.com", "10.0.0.0/8/1", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", " , "])(
    "refuses %j with a message naming the setting",
    (value) => {
      expect(() => readEnv({ LATCHKEY_TRUSTED_PROXIES: value })).toThrow(/LATCHKEY_TRUSTED_PROXIES/);
    },
  );

  it("accepts ranges, addresses and names, and builds the trust from them", () => {
    const env = readEnv({ LATCHKEY_TRUSTED_PROXIES: "10.0.0.0/8,192.168.1.10, fd00::/8 ,loopback" });
    const trust = proxyTrust(env);
    expect(resolveClientIp("192.168.1.10", "1.1.1.1, 198.51.100.1, 10.0.0.5", trust)).toBe("198.51.100.1");
    expect(trust.immediatePeer).toBe(false);
    expect(proxyTrust(readEnv({})).ranges).toBeUndefined();
  });

  it("keeps LATCHKEY_TRUST_PROXY=1 as the immediate peer only, and refuses other values", () => {
    expect(proxyTrust(readEnv({ LATCHKEY_TRUST_PROXY: "1" })).immediatePeer).toBe(true);
    expect(proxyTrust(readEnv({ LATCHKEY_TRUST_PROXY: "0" })).immediatePeer).toBe(false);
    expect(() => readEnv({ LATCHKEY_TRUST_PROXY: "yes" })).toThrow(/LATCHKEY_TRUSTED_PROXIES/);
  });
});
