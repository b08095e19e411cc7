import type { AddressInfo } from "node:net";
import { allowedApiMethods } from "@/server/api/app";
import { createApiRequestListener } from "@/server/api/node";
import { createHttpServer } from "@/server/http/http-server";

/** The REST API as server/main.ts serves it (its node listener in Latchkey's HTTP server), on a free local port. */
export async function serveApi(
  options: Parameters<typeof createApiRequestListener>[0],
  timeouts?: Parameters<typeof createHttpServer>[1]["timeouts"],
): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createHttpServer(createApiRequestListener(options), { allowedMethods: allowedApiMethods, timeouts });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
