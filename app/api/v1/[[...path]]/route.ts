import { createApiApp } from "@/lib/api/app";

// The REST API is a Hono app over the lib/ services; this route hands it every /api/v1 request.
const api = createApiApp();
const handle = (req: Request) => api.fetch(req);

export { handle as GET, handle as POST, handle as PATCH, handle as DELETE, handle as PUT };
