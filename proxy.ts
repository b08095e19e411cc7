import { NextResponse, type NextRequest } from "next/server";
import { CALLBACK_COOKIE, isCallbackUrl } from "@/lib/auth/callback-url";

/** Where the browsers send CSP violation reports (server/http/csp-report.ts answers it). */
const CSP_REPORT_PATH = "/csp-report";

/**
 * Adds a per-request nonce-based Content-Security-Policy to every page, and drops a next-auth
 * callback cookie that next-auth would answer with a 500 on every page and sign-in route
 * (lib/auth/callback-url.ts). This is not an auth guard: every page, action and route checks the
 * session or key itself.
 */
export function proxy(request: NextRequest) {
  const crafted = request.cookies
    .getAll()
    .filter((cookie) => CALLBACK_COOKIE.test(cookie.name) && cookie.value && !isCallbackUrl(cookie.value, request.nextUrl.origin));
  for (const cookie of crafted) request.cookies.delete(cookie.name);
  const response = request.nextUrl.pathname.startsWith("/api/")
    ? NextResponse.next({ request: { headers: request.headers } })
    : page(request);
  for (const cookie of crafted) response.cookies.delete(cookie.name);
  return response;
}

/** A page's answer: on with its nonce and Content-Security-Policy. */
function page(request: NextRequest): NextResponse {
  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  const dev = process.env.NODE_ENV === "development";
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // Radix and the toast library position elements with style attributes, which nonces cannot cover.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    // Violations are reported to the server's log (server/http/csp-report.ts): ours would be defects.
    `report-uri ${CSP_REPORT_PATH}`,
  ].join("; ");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("Content-Security-Policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("Content-Security-Policy", csp);
  return response;
}

export const config = {
  matcher: [
    // next-auth's routes, for their callback cookie only.
    "/api/auth/:path*",
    {
      source: "/((?!api/|_next/static|_next/image|favicon.ico).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
