import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { keyring } from "@/lib/config/keyring";
import { ServiceError } from "@/lib/errors";
import { clientIpFrom } from "@/lib/http/client-ip";
import { verifyCredentials } from "@/lib/users/service";
import { signInSchema } from "@/lib/validation/users";

export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;
/** What the sign-in form shows for a rate-limited attempt (next-auth passes only a string). */
export const RATE_LIMITED_ERROR = "RateLimited";

let options: NextAuthOptions | undefined;

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
          try {
            const result = await verifyCredentials(parsed.data, clientIpFrom(req.headers ?? {}));
            if (!result) return null;
            return { id: result.user.id, email: result.user.email, name: result.user.name, sv: result.sessionVersion };
          } catch (error) {
            if (error instanceof ServiceError && error.code === "rate_limited") throw new Error(RATE_LIMITED_ERROR);
            throw error;
          }
        },
      }),
    ],
    callbacks: {
      // The token carries only the user id and the session version; role and name are read from
      // the database on every request, so a JWT claim is never the authority.
      jwt({ token, user }) {
        if (user) {
          token.sub = user.id;
          token.sv = (user as { sv?: number }).sv;
        }
        return { sub: token.sub, sv: token.sv, iat: token.iat, exp: token.exp, jti: token.jti };
      },
      session({ session, token }) {
        return { expires: session.expires, user: { id: token.sub, sv: token.sv } } as typeof session;
      },
    },
  };
  return options;
}
