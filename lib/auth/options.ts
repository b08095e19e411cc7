import type { NextAuthOptions } from "next-auth";
import { decode } from "next-auth/jwt";
import CredentialsProvider from "next-auth/providers/credentials";
import type { OAuthConfig } from "next-auth/providers/oauth";
import { headers } from "next/headers";
import { oidcSettings, type OidcSettings } from "@/lib/config/env";
import { keyring } from "@/lib/runtime";
import { recordSsoRefusal, signInWithSso } from "./sso";
import { ServiceError } from "@/lib/errors";
import { clientIpFrom } from "@/lib/auth/client-ip";
import { verifyCredentials } from "@/lib/users/service";
import { signInSchema } from "@/lib/validation/users";
import { createSession, endSessionOnSignOut, SESSION_MAX_AGE_MS, type SessionClient } from "./sessions";

export const SESSION_MAX_AGE_SECONDS = SESSION_MAX_AGE_MS / 1000;
/**
 * What the sign-in form gets for a rate-limited attempt: next-auth passes only a string, so the
 * seconds to wait travel in it ("RateLimited:42"); see rateLimitedSeconds.
 */
export const RATE_LIMITED_ERROR = "RateLimited";

/** next-auth's id for the OpenID Connect provider: its callback is /api/auth/callback/oidc. */
export const SSO_PROVIDER_ID = "oidc";

let options: NextAuthOptions | undefined;

async function requestIpOrNull(): Promise<string | null> {
  try {
    return clientIpFrom(await headers());
  } catch {
    return null; // outside a request scope
  }
}

async function requestClient(): Promise<SessionClient> {
  try {
    const h = await headers();
    return { ip: clientIpFrom(h), userAgent: h.get("user-agent"), replaces: await browserSessionId(h.get("cookie")) };
  } catch {
    return { ip: null, userAgent: null }; // outside a request scope
  }
}

/** next-auth's session cookie, by either of its names (`__Secure-` over https), chunks included. */
export const SESSION_COOKIE = /^(?:__Secure-)?next-auth\.session-token(?:\.\d+)?$/;

/**
 * The session id this browser's cookie names now, if it names one (a sign-in from a signed-in
 * browser replaces that session). The cookie is next-auth's own encrypted JWT, opened with its key;
 * anything else names nothing.
 */
async function browserSessionId(cookieHeader: string | null | undefined): Promise<string | null> {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const at = part.indexOf("=");
    if (at === -1 || !SESSION_COOKIE.test(part.slice(0, at).trim())) continue;
    try {
      const token = await decode({ token: decodeURIComponent(part.slice(at + 1).trim()), secret: authOptions().secret! });
      if (typeof token?.sid === "string") return token.sid;
    } catch {
      // Not a cookie of ours (or of an older secret): it names no session.
    }
  }
  return null;
}

/**
 * Where next-auth may send the browser after signing in or out: a path of this server, or a URL on
 * its origin; anything else (another origin, or text no URL can be made of: a port out of range,
 * a host like `127.0.0.1:4100.evil.example`) is this server's root. Unlike next-auth's default it
 * never throws, so a crafted `callbackUrl` or callback cookie answers as if it were absent, never
 * a 500, and the cookie is replaced.
 */
export function safeRedirect({ url, baseUrl }: { url: string; baseUrl: string }): string {
  if (url.startsWith("/") && !url.startsWith("//") && !url.startsWith("/\\")) return `${baseUrl}${url}`;
  try {
    if (new URL(url).origin === baseUrl) return url;
  } catch {
    // not a URL at all
  }
  return baseUrl;
}

/**
 * The OpenID Connect provider (SPEC §12), from OIDC_ISSUER's discovery document. next-auth (through
 * openid-client) checks state, PKCE and the nonce, and the ID token's signature, issuer, audience
 * and lifetime; the claims it carries are what signInWithSso reads.
 */
function ssoProvider(settings: OidcSettings): OAuthConfig<Record<string, unknown>> {
  const base = settings.issuer.endsWith("/") ? settings.issuer : `${settings.issuer}/`;
  return {
    id: SSO_PROVIDER_ID,
    name: "SSO",
    type: "oauth",
    wellKnown: new URL(".well-known/openid-configuration", base).href,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    authorization: { params: { scope: "openid email profile" } },
    idToken: true,
    checks: ["pkce", "state", "nonce"],
    httpOptions: { timeout: 10_000 },
    // The claims travel on to the signIn callback as they are; only `id` is next-auth's own.
    profile: (claims) => ({ ...claims, id: String(claims.sub) }),
  };
}

/** next-auth's error codes for a callback that failed before Latchkey saw the answer (see logger). */
const SSO_PROTOCOL_ERRORS = new Set(["OAUTH_CALLBACK_ERROR", "OAUTH_CALLBACK_HANDLER_ERROR", "SIGNIN_OAUTH_ERROR"]);

function errorMessage(metadata: unknown): string {
  const error = (metadata as { error?: unknown } | null)?.error ?? metadata;
  const message = error instanceof Error ? error.message : typeof error === "string" ? error : "unknown error";
  return message.slice(0, 300);
}

/**
 * next-auth's options, built on first use: the secret is derived from LATCHKEY_SECRET, which
 * exists only once the server has started (never at build time).
 */
export function authOptions(): NextAuthOptions {
  if (options) return options;
  const sso = oidcSettings(); // read once, with the rest of the options (not on every request)
  options = {
    secret: keyring().derive("auth").toString("base64url"),
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_SECONDS },
    pages: { signIn: "/sign-in", error: "/sign-in" },
    providers: [
      CredentialsProvider({
        name: "Email and password",
        credentials: { email: { type: "email" }, password: { type: "password" } },
        async authorize(credentials, req) {
          const parsed = signInSchema.safeParse(credentials ?? {});
          if (!parsed.success) return null;
          const requestHeaders = req.headers ?? {};
          const ip = clientIpFrom(requestHeaders);
          try {
            const result = await verifyCredentials(parsed.data, ip);
            if (!result) return null;
            const userAgent = typeof requestHeaders["user-agent"] === "string" ? requestHeaders["user-agent"] : null;
            const cookie = typeof requestHeaders.cookie === "string" ? requestHeaders.cookie : null;
            const sid = await createSession(result.user.id, { ip, userAgent, replaces: await browserSessionId(cookie) });
            return { id: result.user.id, sid };
          } catch (error) {
            if (error instanceof ServiceError && error.code === "rate_limited") {
              throw new Error(`${RATE_LIMITED_ERROR}:${error.retryAfterSeconds ?? 60}`);
            }
            throw error;
          }
        },
      }),
      ...(sso ? [ssoProvider(sso)] : []),
    ],
    callbacks: {
      redirect: safeRedirect,
      // Single sign-on: the provider's verified answer names a person (or an invite), or is refused
      // with a reason /sign-in explains. The session id rides on `user` into the jwt callback.
      async signIn({ user, account }) {
        if (account?.provider !== SSO_PROVIDER_ID) return true;
        // OIDC_DEFAULT_ROLE as it is now (the provider itself is configured once, at start).
        const outcome = await signInWithSso(user, oidcSettings()?.defaultRole ?? null, await requestClient());
        if (!outcome.ok) return `/sign-in?error=Sso_${outcome.reason}`;
        (user as { sid?: string }).sid = outcome.sessionId;
        return true;
      },
      // The token carries only the session id: the sessions table (joined to users) is the
      // authority on every request, so a JWT claim never is.
      jwt({ token, user }) {
        if (user) token.sid = (user as { sid?: string }).sid;
        return { sid: token.sid, iat: token.iat, exp: token.exp, jti: token.jti };
      },
      session({ session, token }) {
        return { expires: session.expires, user: { sid: token.sid } } as typeof session;
      },
    },
    logger: {
      // A provider answer that failed the protocol's checks (state, signature, audience, ...) never
      // reaches signIn: next-auth logs it and sends the browser to /sign-in?error=OAuthCallback.
      // Here it is audited too. The message names the check, never a token.
      error(code, metadata) {
        if (SSO_PROTOCOL_ERRORS.has(code)) {
          void requestIpOrNull()
            .then((ip) => recordSsoRefusal("provider_error", { ip }, { code, problem: errorMessage(metadata) }))
            .catch((error: unknown) => console.error("[auth] could not audit a refused single sign-on:", errorMessage(error)));
        }
        console.error(`[auth] ${code}: ${errorMessage(metadata)}`);
      },
      warn(code) {
        console.warn(`[auth] ${code}`);
      },
      debug() {},
    },
    events: {
      // Sign out ends the server-side session at once: a copy of the cookie is refused from now on.
      async signOut({ token }) {
        const sid = (token as { sid?: unknown } | null)?.sid;
        if (typeof sid === "string") await endSessionOnSignOut(sid, await requestIpOrNull());
      },
    },
  };
  return options;
}
