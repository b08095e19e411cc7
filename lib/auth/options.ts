import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { headers } from "next/headers";
import { keyring } from "@/lib/runtime";
import { ServiceError } from "@/lib/errors";
import { clientIpFrom } from "@/lib/auth/client-ip";
import { verifyCredentials } from "@/lib/users/service";
import { signInSchema } from "@/lib/validation/users";
import { createSession, endSessionOnSignOut, SESSION_MAX_AGE_MS } from "./sessions";

export const SESSION_MAX_AGE_SECONDS = SESSION_MAX_AGE_MS / 1000;
/**
 * What the sign-in form gets for a rate-limited attempt: next-auth passes only a string, so the
 * seconds to wait travel in it ("RateLimited:42"); see rateLimitedSeconds.
 */
export const RATE_LIMITED_ERROR = "RateLimited";

let options: NextAuthOptions | undefined;

async function requestIpOrNull(): Promise<string | null> {
  try {
    return clientIpFrom(await headers());
  } catch {
    return null; // outside a request scope
  }
}

/**
 * next-auth's options, built on first use: the secret is derived from LATCHKEY_SECRET, which
 * exists only once the server has started (never at build time).
 */
export function authOptions(): NextAuthOptions {
  options ??= {
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
            const sid = await createSession(result.user.id, { ip, userAgent });
            return { id: result.user.id, sid };
          } catch (error) {
            if (error instanceof ServiceError && error.code === "rate_limited") {
              throw new Error(`${RATE_LIMITED_ERROR}:${error.retryAfterSeconds ?? 60}`);
            }
            throw error;
          }
        },
      }),
    ],
    callbacks: {
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
