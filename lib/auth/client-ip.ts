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
