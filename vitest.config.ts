import net from "node:net";
import path from "node:path";
import { defineConfig } from "vitest/config";

export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Whether the PostgreSQL for the integration tests answers; without one only PGlite runs. */
function postgresReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5432) });
    socket.setTimeout(1000);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

export default defineConfig(async () => {
  const alias = {
    "@": path.resolve(import.meta.dirname),
    // lib/ marks Next-only modules with `server-only`, which throws outside React Server builds.
    "server-only": path.resolve(import.meta.dirname, "tests/helpers/empty.ts"),
  };
  const integration = (db: "pglite" | "postgres") => ({
    resolve: { alias },
    test: {
      name: `integration:${db}`,
      include: ["tests/integration/**/*.test.ts"],
      env: { TEST_DB: db, TEST_POSTGRES_URL },
      testTimeout: 30_000,
      hookTimeout: 60_000,
      pool: "forks" as const,
    },
  });
  const withPostgres = process.env.TEST_SKIP_POSTGRES !== "1" && (await postgresReachable(TEST_POSTGRES_URL));
  if (!withPostgres) console.warn(`[vitest] PostgreSQL at ${TEST_POSTGRES_URL} is not reachable: integration tests run on PGlite only.`);
  return {
    test: {
      projects: [
        {
          resolve: { alias },
          test: {
            name: "unit",
            include: ["lib/**/__tests__/**/*.test.ts", "server/**/__tests__/**/*.test.ts", "db/**/__tests__/**/*.test.ts"],
            environment: "node",
          },
        },
        integration("pglite"),
        ...(withPostgres ? [integration("postgres")] : []),
      ],
    },
  };
});
