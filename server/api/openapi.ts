import type { OpenAPIHono } from "@hono/zod-openapi";

/**
 * The OpenAPI 3.1 document's frame: title, servers, tags and the security schemes. Its paths and
 * schemas are not written here: they are generated from the routes the app registers
 * (routes.ts), with the zod schemas the API validates with.
 */
type DocumentConfig = Parameters<OpenAPIHono["getOpenAPI31Document"]>[0];

const DOCUMENT_FRAME: DocumentConfig = {
  openapi: "3.1.0",
  info: {
    title: "Latchkey API",
    version: "1.0.0",
    description:
      "Manage your own API keys, and check a key you were handed. Authenticate with HTTP Basic, the key as the " +
      "username and an empty password (`curl -u KEY: ...`), or `Authorization: Bearer KEY`. Never put a key in the URL.",
  },
  security: [{ basicAuth: [] }, { bearerAuth: [] }],
  tags: [
    { name: "Keys", description: "The caller's own API keys. Reads need any active key; writes a Read & Write key." },
    { name: "Utility", description: "Check that a key works, and whose it is." },
    {
      name: "Admin",
      description: "Owners and Admins: every key in the organisation and the audit log, as the app's pages. Anyone else gets a 404.",
    },
  ],
};

/** Adds the security schemes the document's `security` names to the app's registry. */
export function registerSecuritySchemes(app: Pick<OpenAPIHono, "openAPIRegistry">): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", {
    type: "http",
    scheme: "basic",
    description: "The key as the username, an empty password.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "The key as a Bearer token.",
  });
}

/**
 * The OpenAPI 3.1 document for the app's routes, served at `${basePath}/openapi.json`. The app is
 * mounted under `basePath`, so the generator writes it before every path; the document says it
 * once, as its server, and keeps the paths relative (as clients expect with a `servers` URL).
 */
export function buildOpenApiDocument(app: Pick<OpenAPIHono, "getOpenAPI31Document">, basePath: string) {
  const document = app.getOpenAPI31Document({ ...DOCUMENT_FRAME, servers: [{ url: basePath }] });
  const paths = Object.entries(document.paths ?? {}).map(([path, item]) => {
    if (!path.startsWith(`${basePath}/`)) throw new Error(`${path} is outside ${basePath}`);
    return [path.slice(basePath.length), item] as const;
  });
  return { ...document, paths: Object.fromEntries(paths) };
}
