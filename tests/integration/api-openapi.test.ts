/**
 * The OpenAPI document and the routes come from one declaration (server/api/routes.ts): the
 * document is valid OpenAPI 3.1, lists exactly the routes the app's router serves, and describes
 * each request with the very schema the route validates with.
 */
import { compileErrors, validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { createApiKey } from "@/lib/keys/service";
import { API_BASE, API_ROUTES, createApiApp, type ApiApp } from "@/server/api/app";
import { buildOpenApiDocument } from "@/server/api/openapi";
import * as routes from "@/server/api/routes";
import { createKeyRequest, keyIdParams, listQuery, regenerateKeyRequest, updateKeyRequest } from "@/server/api/schemas";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let app: ApiApp;
beforeAll(async () => {
  teardown = await setupTestDatabase();
  app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
});
afterAll(() => teardown());

const BASE = `http://latchkey.test${API_BASE}`;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

type Json = Record<string, unknown>;
interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: Json; description?: string }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }>; headers?: Record<string, Json> }>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  servers: Array<{ url: string }>;
  security: Array<Record<string, string[]>>;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

async function servedDocument(target: { request: ApiApp["request"] } = app): Promise<Document> {
  const response = await target.request(`${BASE}/openapi.json`);
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
}

/** "METHOD /path" for every operation of a document, paths relative to the API's base. */
function documentedOperations(document: Document): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** "METHOD /path" for every route the app's router serves (middleware excluded), in OpenAPI's {param} form. */
function servedRoutes(target: { routes: ReadonlyArray<{ method: string; path: string }> }): string[] {
  return target.routes
    .filter((route) => route.method !== "ALL")
    .map((route) => `${route.method} ${route.path.slice(API_BASE.length).replace(/:([^/]+)/g, "{$1}")}`);
}

const sorted = (list: string[]) => [...new Set(list)].sort();
const refName = (schema: { $ref?: string } | undefined) => schema?.$ref?.replace("#/components/schemas/", "");

/** A zod schema as JSON Schema, the way a request is read (defaults make a field optional). */
function inputJsonSchema(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as Json;
  void _dialect;
  return rest;
}

/**
 * The same JSON Schema, written one way: the document's generator and zod spell a few things
 * differently without meaning anything else. A nullable value is `{ type: [T, "null"] }` in one and
 * `anyOf: [{ type: T }, { type: "null" }]` in the other, and the generator leaves out zod's
 * date-time regex where `format: "date-time"` already says it.
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const object = Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, canonical(inner)])) as Record<string, unknown>;
  if (Array.isArray(object.type) && object.type.length === 2 && object.type.includes("null")) {
    const { type, ...rest } = object;
    return { anyOf: [{ ...rest, type: (type as string[]).find((t) => t !== "null") }, { type: "null" }] };
  }
  if (Array.isArray(object.anyOf)) {
    const sorted = [...(object.anyOf as Record<string, unknown>[])].sort((a, b) => (a.type === "null" ? 1 : b.type === "null" ? -1 : 0));
    return { ...object, anyOf: sorted };
  }
  if (object.format === "date-time" && typeof object.pattern === "string") {
    const { pattern: _pattern, ...rest } = object;
    void _pattern;
    return rest;
  }
  return object;
}

describe("GET /api/v1/openapi.json", () => {
  it("is served without a key, as JSON", async () => {
    const response = await app.request(`${BASE}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    const document = (await response.json()) as Document;
    expect(document.openapi).toBe("3.1.0");
    expect(document.servers).toEqual([{ url: "/api/v1" }]);
  });

  it("validates as OpenAPI 3.1", async () => {
    // validate() dereferences in place: give it a copy.
    const document = await servedDocument();
    const result = await validate(structuredClone(document) as never);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.valid).toBe(true);

    // The validator does catch a broken document.
    const broken = structuredClone(document) as unknown as { paths: Record<string, Record<string, unknown>> };
    broken.paths["/ping"]!.get = { responses: "none" };
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it("is the document the app's registry generates, paths relative to the server URL", async () => {
    expect(await servedDocument()).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(app, API_BASE))));
  });
});

describe("one declaration for a route and its documentation", () => {
  it("the document lists every route the app's router serves, and no other", async () => {
    const document = await servedDocument();
    const served = servedRoutes(app);
    expect(served).toContain("GET /api_keys/{id}");
    expect(sorted(documentedOperations(document))).toEqual(sorted(served));
    // The 405 answers' list of methods comes from the same declarations.
    expect(sorted(API_ROUTES.map((route) => `${route.method} ${route.path}`))).toEqual(sorted(served));
  });

  it("a route added without a declaration is caught", async () => {
    const other = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
    other.get("/undocumented", (c) => c.json({}));
    const document = await servedDocument(other);
    expect(servedRoutes(other)).toContain("GET /undocumented");
    expect(sorted(documentedOperations(document))).not.toEqual(sorted(servedRoutes(other)));
  });

  it("every operation documents its path parameters, a success, the errors and its security", async () => {
    const document = await servedDocument();
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(["basicAuth", "bearerAuth"]);
    expect(document.security).toEqual([{ basicAuth: [] }, { bearerAuth: [] }]);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const label = `${method.toUpperCase()} ${path}`;
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
        const documented = (operation.parameters ?? []).filter((p) => p.in === "path");
        expect(
          documented.map((p) => p.name),
          label,
        ).toEqual(inPath);
        expect(
          documented.every((p) => p.required),
          label,
        ).toBe(true);
        expect(
          Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)),
          label,
        ).toBe(true);
        if (path === "/openapi.json") {
          expect(operation.security, label).toEqual([]); // public
          continue;
        }
        expect(operation.security, label).toBeUndefined(); // the document's: a key, Basic or Bearer
        expect(Object.keys(operation.responses), label).toEqual(expect.arrayContaining(["400", "401", "429"]));
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) >= 400) expect(refName(response.content?.["application/json"]?.schema), `${label} ${status}`).toBe("Error");
        }
        // Every write needs a Read & Write key; verify (a POST that changes nothing but a key's last use) needs any key.
        if (method !== "get" && path !== "/verify") expect(Object.keys(operation.responses), label).toContain("403");
        if (operation.requestBody) expect(Object.keys(operation.responses), label).toEqual(expect.arrayContaining(["413", "422"]));
      }
    }
  });

  it.each([
    ["POST /api_keys", routes.createApiKey, createKeyRequest, "CreateApiKeyRequest", true],
    ["PATCH /api_keys/{id}", routes.updateApiKey, updateKeyRequest, "UpdateApiKeyRequest", true],
    ["POST /api_keys/{id}/regenerate", routes.regenerateApiKey, regenerateKeyRequest, "RegenerateApiKeyRequest", false],
  ])("%s validates its body with the schema the document describes", async (label, route, schema, component, required) => {
    // The registered route (what validates the request and what the document is generated from)
    // holds the API's own schema object ...
    const [method, path] = label.split(" ") as ["POST" | "PATCH", string];
    const registered = app.openAPIRegistry.definitions.flatMap((definition) => {
      const matches = definition.type === "route" && definition.route.method.toUpperCase() === method && definition.route.path === path;
      return matches ? [definition.route] : [];
    });
    expect(registered).toHaveLength(1);
    const media = registered[0]!.request?.body?.content["application/json"];
    expect(media && "schema" in media ? media.schema : undefined).toBe(schema);
    expect(route.request.body.content["application/json"].schema).toBe(schema);
    // ... and the document describes exactly that schema.
    const document = await servedDocument();
    const operation = document.paths[path]![method.toLowerCase() as "post" | "patch"]!;
    expect(operation.requestBody?.required).toBe(required);
    expect(refName(operation.requestBody?.content["application/json"]?.schema)).toBe(component);
    // zod's JSON Schema cannot say "at least one of these" for PATCH's refine(); the document adds minProperties.
    const { minProperties, ...described } = document.components.schemas[component] as Json;
    expect(minProperties).toBe(component === "UpdateApiKeyRequest" ? 1 : undefined);
    expect(canonical(described)).toEqual(canonical(inputJsonSchema(schema)));
  });

  it("every answer to a key documents the Sunset header an old secret gets, and the key lifecycle is described", async () => {
    const document = await servedDocument();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation || path === "/openapi.json") continue;
        for (const [status, response] of Object.entries(operation.responses)) {
          if (/^2\d\d$/.test(status)) expect(Object.keys(response.headers ?? {}), `${method} ${path} ${status}`).toContain("Sunset");
        }
      }
    }
    expect(document.paths["/openapi.json"]!.get!.responses["200"]!.headers).toBeUndefined();

    const revoke = document.paths["/api_keys/{id}/previous_secret"]!.delete!;
    expect(Object.keys(revoke.responses)).toEqual(expect.arrayContaining(["204", "401", "403", "404"]));
    const key = document.components.schemas.ApiKey as { properties: Record<string, Json>; required: string[] };
    for (const field of ["description", "expires_at", "last_used_ip", "previous_secret_expires_at"]) {
      expect(key.required, field).toContain(field);
    }
    expect((document.components.schemas.WhoAmI as { required: string[] }).required).toContain("expires_at");
    const regenerate = document.components.schemas.RegenerateApiKeyRequest as { properties: Record<string, Json> };
    // No `default`: generated clients (openapi-typescript) would make the field required; the service applies 0.
    expect(regenerate.properties.grace_period_seconds).toEqual(expect.objectContaining({ type: "integer", minimum: 0, maximum: 604_800 }));
    expect(regenerate.properties.grace_period_seconds).not.toHaveProperty("default");
  });

  it("GET /api_keys documents the query string its schema reads, and /{id} routes the id parameter", async () => {
    expect(routes.listApiKeys.request.query).toBe(listQuery);
    const document = await servedDocument();
    const expected = inputJsonSchema(listQuery) as { properties: Record<string, Json>; required?: string[] };
    const parameters = document.paths["/api_keys"]!.get!.parameters!;
    expect(parameters.map((p) => [p.name, p.in, p.required])).toEqual(
      Object.keys(expected.properties).map((name) => [name, "query", expected.required?.includes(name) ?? false]),
    );
    for (const parameter of parameters) {
      expect(parameter.schema).toEqual({ ...expected.properties[parameter.name], description: parameter.description });
    }
    for (const route of [
      routes.getApiKey,
      routes.updateApiKey,
      routes.deleteApiKey,
      routes.regenerateApiKey,
      routes.revokePreviousSecret,
    ]) {
      expect(route.request.params).toBe(keyIdParams);
    }
  });

  it("every component schema is used, and every response names one", async () => {
    const document = await servedDocument();
    const text = JSON.stringify(document.paths) + JSON.stringify(document.components.schemas);
    for (const name of Object.keys(document.components.schemas)) expect(text, name).toContain(`"#/components/schemas/${name}"`);
  });
});

describe("requests through the declared routes keep the API's own answers", () => {
  let secret: string;
  let user: Actor;
  beforeAll(async () => {
    user = await makeUser("staff");
    secret = (await createApiKey(user, { name: "openapi writer", access_level: "read_write" })).secret;
  });
  const send = (method: string, path: string, body?: string, contentType?: string) =>
    app.request(`${BASE}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${secret}`,
        "x-latchkey-client-ip": "192.0.2.44",
        ...(contentType ? { "content-type": contentType } : {}),
      },
      body,
    });

  it("an invalid body is the API's 422 naming the field, not the framework's 400", async () => {
    const response = await send("POST", "/api_keys", JSON.stringify({ name: "ok", colour: "red" }), "application/json");
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({ code: 422, message: "Unknown field: colour.", param: "colour" });
    const query = await send("GET", "/api_keys?per_page=0");
    expect(query.status).toBe(422);
    expect(await query.json()).toEqual({ code: 422, message: "per_page must be at least 1.", param: "per_page" });
  });

  it.each([
    ["no Content-Type", undefined],
    ["text/plain", "text/plain"],
    ["form-urlencoded (curl -d)", "application/x-www-form-urlencoded"],
    ["JSON with a charset", "application/json; charset=utf-8"],
  ])("a JSON object body is read whatever its Content-Type: %s", async (label, contentType) => {
    const name = `typed ${label}`;
    const created = await send("POST", "/api_keys", JSON.stringify({ name }), contentType);
    expect(created.status).toBe(201);
    const key = (await created.json()) as { id: string; name: string; access_level: string };
    expect(key).toMatchObject({ name, access_level: "read_only" });
    const renamed = await send("PATCH", `/api_keys/${key.id}`, JSON.stringify({ name: `${name}!` }), contentType);
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: key.id, name: `${name}!` });
    const fetched = await send("GET", `/api_keys/${key.id}`);
    expect(await fetched.json()).toMatchObject({ name: `${name}!` });
  });
});
