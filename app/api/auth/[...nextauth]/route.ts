import NextAuth from "next-auth";
import { authOptions } from "@/lib/auth/options";
import { liveSessionAnswer } from "@/lib/auth/auth-route";
import { isCallbackUrl } from "@/lib/auth/callback-url";

type Handler = (req: Request, ctx: { params: Promise<{ nextauth: string[] }> }) => Promise<Response>;

// Built per request from lazily-derived options: the secret exists only once the server started.
const nextAuth: Handler = (req, ctx) => (NextAuth(authOptions()) as Handler)(req, ctx);

const badRequest = (message: string) =>
  new Response(JSON.stringify({ code: 400, message, param: "callbackUrl" }), {
    status: 400,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });

/**
 * next-auth's routes, with what it answers with a 500 kept from it: a `callbackUrl` no URL can be
 * made of (a 400 here; a callback cookie holding one is proxy.ts's to drop), and a GET of the
 * credentials callback (sent to sign in). Its session endpoint is held to the sessions table.
 */
const handler: Handler = async (req, ctx) => {
  const [action, provider] = (await ctx.params).nextauth;
  // The credentials callback is the sign-in form's POST; a GET has nothing to call back.
  if (req.method === "GET" && action === "callback" && provider === "credentials") {
    return new Response(null, { status: 303, headers: { Location: "/sign-in", "Cache-Control": "no-store" } });
  }
  const url = new URL(req.url);
  const fromBody =
    req.method === "POST" && req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded")
      ? new URLSearchParams(await req.clone().text()).get("callbackUrl")
      : null;
  for (const asked of [url.searchParams.get("callbackUrl"), fromBody]) {
    if (asked !== null && !isCallbackUrl(asked, url.origin)) return badRequest("callbackUrl is not a URL this server can send you to.");
  }
  const response = await nextAuth(req, ctx);
  // next-auth's session endpoint trusts the cookie alone; the sessions table decides (SPEC §10).
  if (req.method === "GET" && action === "session" && provider === undefined) return liveSessionAnswer(req, response);
  return response;
};

export { handler as GET, handler as POST };
