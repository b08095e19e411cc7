import path from "node:path";

/** Where e2e/server.ts writes what the server prints and the answers of 400 or more it gave. */
export function serverLogPath(port: string | number | undefined): string {
  return path.resolve(import.meta.dirname, "..", "test-results", `e2e-server-${port ?? 3100}.log`);
}
