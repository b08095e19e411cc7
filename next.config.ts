import type { NextConfig } from "next";

const securityHeaders = [
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), clipboard-write=(self)" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // A second build folder lets two checkouts' worth of work (or two test runs) build side by side.
  distDir: process.env.LATCHKEY_DIST_DIR ?? ".next",
  // Native or protocol-level packages stay plain Node requires, shared with the custom server.
  serverExternalPackages: ["postgres", "@node-rs/argon2", "@electric-sql/pglite", "fs-native-extensions"],
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
