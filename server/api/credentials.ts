import { BODY_LENGTH, CHECKSUM_LENGTH, KEY_PREFIX } from "@/lib/keys/format";
import { ApiError } from "./errors";

const QUERY_KEY_NAMES = new Set(["api_key", "apikey", "key", "token", "access_token", "auth"]);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// Anything shaped like a key, anywhere in a value: unanchored, so `?a=<key>X` or `?a=x<key>` count too.
const KEY_SHAPED = new RegExp(`${KEY_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}`);

/**
 * Throws the 400 for a key in the URL's query string (or a parameter named like one): URLs end up
 * in logs, so a key is only ever taken from the Authorization header (keyFromAuthorization).
 */
export function refuseKeyInUrl(url: string): void {
  const query = url.indexOf("?");
  if (query !== -1) refuseKeyInQuery(url.slice(query + 1));
}

function refuseKeyInQuery(query: string): void {
  for (const [name, value] of new URLSearchParams(query)) {
    const keyAsName = KEY_SHAPED.test(name);
    if (keyAsName || QUERY_KEY_NAMES.has(name.toLowerCase()) || KEY_SHAPED.test(value)) {
      // The parameter's name is echoed as `param`, unless it is itself the key.
      throw new ApiError(
        400,
        "API keys must not be sent in the URL. Use HTTP Basic auth (key as username) or a Bearer token.",
        keyAsName ? null : name,
      );
    }
  }
}

/**
 * The API key an Authorization header presents: HTTP Basic with the key as the username and an
 * empty password (as ChartMogul), or a Bearer token. Null when the request presents no credentials
 * at all (no header, a blank one, a scheme with nothing after it, Basic with an empty username):
 * such a request asks to be challenged, as `curl --anyauth`, wget and Python's
 * HTTPBasicAuthHandler do before they send the key, and guesses nothing. Throws the 400 for a
 * header that is not one of the two schemes.
 */
export function keyFromAuthorization(authorization: string | null | undefined): string | null {
  const header = authorization?.trim();
  if (!header) return null;
  const space = header.indexOf(" ");
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? "" : header.slice(space + 1).trim();
  if (scheme === "bearer") return value || null;
  if (scheme === "basic") {
    if (!value) return null;
    if (value.length % 4 !== 0 || !BASE64.test(value)) {
      throw new ApiError(400, 'The Authorization header is not valid HTTP Basic: its credentials must be base64 of "KEY:".');
    }
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const user = colon === -1 ? decoded : decoded.slice(0, colon);
    return user || null;
  }
  throw new ApiError(400, "Unsupported Authorization scheme. Use Basic (key as username) or Bearer.");
}
