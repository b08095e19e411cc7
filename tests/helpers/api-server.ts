import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createApiRequestListener } from "@/server/api/node";

/** The REST API as server/main.ts serves it (its node listener), on a free local port. */
export async function serveApi(
  options: Parameters<typeof createApiRequestListener>[0],
): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer(createApiRequestListener(options));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
