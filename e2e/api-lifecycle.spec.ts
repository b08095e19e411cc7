import { expect, test, type APIRequestContext } from "@playwright/test";
import { basicAuth, storageStateOf } from "./support";

/**
 * The key lifecycle (SPEC §11) as a script sees it, against the real server (the API's node
 * listener, ping's fast path included): a key made to expire in a few seconds works, then is
 * refused with the SPEC's message; a regenerate with a grace period keeps the old secret working,
 * with a Sunset header, until Revoke old secret now.
 */
async function api(request: APIRequestContext, key: string, method: string, path: string, data?: unknown) {
  const response = await request.fetch(`/api/v1${path}`, {
    method,
    headers: { ...basicAuth(key), ...(data ? { "Content-Type": "application/json" } : {}) },
    data: data === undefined ? undefined : JSON.stringify(data),
  });
  const text = await response.text();
  return {
    status: response.status(),
    sunset: response.headers()["sunset"],
    json: (text ? JSON.parse(text) : null) as Record<string, unknown>,
  };
}

const EXPIRED = { code: 401, message: "This API key has expired", param: null };

test.describe("the key lifecycle through the REST API", () => {
  test.use({ storageState: storageStateOf("owner") });

  test("an expired key is refused with the SPEC's message; a grace period keeps the old secret until it is revoked", async ({
    page,
    playwright,
    baseURL,
  }) => {
    // A Read & Write key from the Profile page, as a person makes one for their script.
    const stamp = Date.now();
    await page.goto("/profile");
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(`Lifecycle script ${stamp}`);
    await add.getByRole("radio", { name: /Read & Write/ }).check();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const writer = (await add.getByTestId("new-api-key").textContent())!.trim();
    await add.getByRole("button", { name: "Done" }).click();

    // The script talks to the API with the key only: no session cookie.
    const request = await playwright.request.newContext({ baseURL });

    // A key that expires in four seconds.
    const expiresAt = new Date(Date.now() + 4_000).toISOString();
    const created = await api(request, writer, "POST", "/api_keys", {
      name: `Short-lived ${stamp}`,
      description: "Expires in seconds",
      expires_at: expiresAt,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ expires_at: expiresAt, description: "Expires in seconds", previous_secret_expires_at: null });
    const shortLived = created.json.key as string;
    const shortLivedId = created.json.id as string;
    expect((await api(request, shortLived, "GET", "/ping")).json).toEqual({ data: "pong!" });
    expect((await api(request, shortLived, "GET", "/whoami")).json).toMatchObject({ id: shortLivedId, expires_at: expiresAt });

    // Once it has passed, every call is refused with the SPEC's message (ping's fast path and a route alike).
    await expect.poll(async () => (await api(request, shortLived, "GET", "/ping")).json, { timeout: 10_000 }).toEqual(EXPIRED);
    expect(Date.now()).toBeGreaterThanOrEqual(new Date(expiresAt).getTime());
    const whoami = await api(request, shortLived, "GET", "/whoami");
    expect(whoami.status).toBe(401);
    expect(whoami.json).toEqual(EXPIRED);
    // Its holder still lists it, as it was.
    expect((await api(request, writer, "GET", `/api_keys/${shortLivedId}`)).json).toMatchObject({
      status: "active",
      expires_at: expiresAt,
    });

    // Regenerate revives it with a new expiry; without one it is refused, naming the field.
    const refused = await api(request, writer, "POST", `/api_keys/${shortLivedId}/regenerate`);
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ param: "expires_at" });
    const laterExpiry = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
    const revived = await api(request, writer, "POST", `/api_keys/${shortLivedId}/regenerate`, { expires_at: laterExpiry });
    expect(revived.status).toBe(200);
    const current = revived.json.key as string;
    expect((await api(request, current, "GET", "/ping")).json).toEqual({ data: "pong!" });

    // Rotation with a one-hour grace: both secrets work; only answers to the old one carry Sunset.
    const rotated = await api(request, writer, "POST", `/api_keys/${shortLivedId}/regenerate`, { grace_period_seconds: 3600 });
    expect(rotated.status).toBe(200);
    const graceEnd = new Date(rotated.json.previous_secret_expires_at as string);
    expect(graceEnd.getTime() - Date.now()).toBeGreaterThan(3_500_000);
    const newest = rotated.json.key as string;
    const old = await api(request, current, "GET", "/ping");
    expect(old).toMatchObject({ status: 200, sunset: graceEnd.toUTCString() });
    expect((await api(request, current, "GET", "/whoami")).sunset).toBe(graceEnd.toUTCString());
    const fresh = await api(request, newest, "GET", "/ping");
    expect(fresh.status).toBe(200);
    expect(fresh.sunset).toBeUndefined();

    // Revoke old secret now: the old one is refused on the very next request, the new one works.
    const revoked = await api(request, writer, "DELETE", `/api_keys/${shortLivedId}/previous_secret`);
    expect(revoked.status).toBe(204);
    expect(await api(request, current, "GET", "/ping")).toMatchObject({ status: 401, json: { message: "No valid API key provided" } });
    expect((await api(request, newest, "GET", "/ping")).status).toBe(200);
    expect((await api(request, writer, "DELETE", `/api_keys/${shortLivedId}/previous_secret`)).status).toBe(404);
    await request.dispose();
  });
});
