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

/**
 * The address to record for a raw Node request: the socket's peer, or with LATCHKEY_TRUST_PROXY=1
 * the left-most X-Forwarded-For entry set by the proxy in front.
 */
export function resolveClientIp(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: boolean,
): string | null {
  const forwarded = Array.isArray(forwardedFor) ? forwardedFor[0] : forwardedFor;
  const candidate = trustProxy && forwarded ? forwarded.split(",")[0]?.trim() : socketAddress;
  if (!candidate) return null;
  const plain = candidate.startsWith("::ffff:") ? candidate.slice(7) : candidate;
  return /^[0-9a-fA-F:.]{2,45}$/.test(plain) ? plain : null;
}
