/** The OpenAPI document: valid OpenAPI 3.1, every route listed, served without a key. */
import { compileErrors, validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES, createApiApp } from "@/server/api/app";
import { buildOpenApiDocument } from "@/server/api/openapi";
import { setupTestDatabase } from "../helpers/db";

let teardown: () => Promise<void>;
beforeAll(async () => {
  teardown = await setupTestDatabase();
});
afterAll(() => teardown());

describe("GET /api/v1/openapi.json", () => {
  it("is served without a key, as JSON", async () => {
    const app = createApiApp();
    const response = await app.request("http://latchkey.test/api/v1/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const document = (await response.json()) as { openapi: string };
    expect(document.openapi).toBe("3.1.0");
  });

  it("validates as OpenAPI 3.1", async () => {
    // validate() dereferences in place: give it a copy.
    const result = await validate(structuredClone(buildOpenApiDocument()) as never);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.valid).toBe(true);

    // The validator does catch a broken document.
    const broken = structuredClone(buildOpenApiDocument()) as unknown as { paths: Record<string, Record<string, unknown>> };
    broken.paths["/ping"]!.get = { responses: "none" };
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it("lists every route the app serves, and no other", () => {
    const document = buildOpenApiDocument();
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => ["get", "post", "patch", "put", "delete"].includes(k))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("describes the request bodies from the same zod schemas the API validates with", () => {
    const { schemas } = buildOpenApiDocument().components;
    expect(schemas.CreateApiKeyRequest).toMatchObject({
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: { name: { type: "string", minLength: 1, maxLength: 100 }, access_level: { enum: ["read_only", "read_write"], default: "read_only" } },
    });
    expect(schemas.UpdateApiKeyRequest).toMatchObject({ additionalProperties: false, properties: { status: { enum: ["active", "disabled"] } } });
    expect(schemas.ApiKey).toMatchObject({
      required: expect.arrayContaining(["id", "name", "access_level", "status", "masked_key", "created_at", "last_used_at"]),
    });
    expect(schemas.ApiKey).not.toHaveProperty("properties.key");
    expect(schemas.ApiKeyWithSecret).toHaveProperty("properties.key");
    expect(schemas.Error).toMatchObject({ required: ["code", "message", "param"] });
  });
});
