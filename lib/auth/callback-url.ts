/**
 * next-auth answers a callback URL it cannot parse with a 500, on every route and page, for as
 * long as a browser's callback cookie holds one (its config check runs on each). What it would
 * refuse is refused before it sees it: a 400 for a `callbackUrl` parameter
 * (app/api/auth/[...nextauth]), a dropped cookie (proxy.ts). Where next-auth may then send the
 * browser is safeRedirect's (lib/auth/options.ts): this server's own pages only.
 */

/** next-auth's callback cookie, by either of its names. */
export const CALLBACK_COOKIE = /^(?:__Secure-)?next-auth\.callback-url$/;

/** Whether next-auth can take `value` as a callback URL: an http(s) URL, or a path of this server (`origin`). */
export function isCallbackUrl(value: string, origin: string): boolean {
  try {
    return /^https?:$/.test(new URL(value, value.startsWith("/") ? origin : undefined).protocol);
  } catch {
    return false;
  }
}
