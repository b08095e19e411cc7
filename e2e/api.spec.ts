import { expect, test, type APIRequestContext } from "@playwright/test";
import { ACCOUNTS, basicAuth, KEY_DIALOG, rowOf, storageStateOf } from "./support";

/** Calls the REST API with a key (Basic, the key as username), as a script would. */
async function api(request: APIRequestContext, key: string, method: string, path: string, data?: unknown) {
  const response = await request.fetch(`/api/v1${path}`, {
    method,
    headers: { ...basicAuth(key), ...(data ? { "Content-Type": "application/json" } : {}) },
    data: data === undefined ? undefined : JSON.stringify(data),
  });
  const text = await response.text();
  return {
    status: response.status(),
    json: (text ? JSON.parse(text) : null) as Record<string, unknown> & { entries?: Array<Record<string, unknown>> },
  };
}

test.describe("the REST API and the app see the same keys", () => {
  test.use({ storageState: storageStateOf("owner") });

  test("a key made in the UI lists itself through the API; API changes show on the profile and in the audit log", async ({
    page,
    playwright,
    baseURL,
  }) => {
    // A separate request context: no session cookie, only the key, as a real client.
    const request = await playwright.request.newContext({ baseURL });
    const stamp = Date.now();
    const uiName = `UI made ${stamp}`;

    await page.goto("/profile");
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(uiName);
    await add.getByRole("radio", { name: /Read & Write/ }).check();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
    expect(secret).toMatch(/^lk_[0-9A-Za-z]{49}$/);
    await add.getByRole("button", { name: "Done" }).click();

    // It lists itself, masked, through the API.
    const list = await api(request, secret, "GET", "/api_keys?per_page=200");
    expect(list.status).toBe(200);
    const self = list.json.entries!.find((entry) => entry.name === uiName);
    expect(self).toMatchObject({
      access_level: "read_write",
      status: "active",
      masked_key: `${secret.slice(0, 7)}••••••••${secret.slice(-4)}`,
    });
    expect(JSON.stringify(list.json)).not.toContain(secret);
    const whoami = await api(request, secret, "GET", "/whoami");
    expect(whoami.json).toMatchObject({ id: self!.id, name: uiName, user: { email: ACCOUNTS.owner.email, role: "owner" } });

    // Changes through the API: a new key, renamed and disabled in one PATCH.
    const apiName = `API made ${stamp}`;
    const renamed = `API renamed ${stamp}`;
    const created = await api(request, secret, "POST", "/api_keys", { name: apiName });
    expect(created.status).toBe(201);
    const createdKey = created.json.key as string;
    expect((await api(request, createdKey, "GET", "/ping")).json).toEqual({ data: "pong!" });
    const patched = await api(request, secret, "PATCH", `/api_keys/${created.json.id as string}`, { name: renamed, status: "disabled" });
    expect(patched.json).toMatchObject({ name: renamed, status: "disabled" });
    expect((await api(request, createdKey, "GET", "/ping")).status).toBe(401);

    // The profile shows them.
    await page.reload();
    const row = rowOf(page, renamed);
    await expect(row).toHaveCount(1);
    await expect(row.getByText("Disabled")).toBeVisible();
    await expect(row.getByRole("cell", { name: "Read-only" })).toBeVisible();
    await expect(page.getByRole("cell", { name: apiName, exact: true })).toHaveCount(0);

    // And the other way: disabling in the UI (a server action, in Next's copy of lib/) reaches the
    // API's verification cache at once, although the key was just verified (and cached).
    expect((await api(request, secret, "GET", "/ping")).status).toBe(200);
    const uiRow = rowOf(page, uiName);
    await uiRow.getByRole("button", { name: "Settings" }).click();
    await page.getByRole("dialog", { name: KEY_DIALOG }).getByRole("button", { name: "Disable" }).click();
    await expect(uiRow.getByText("Disabled")).toBeVisible();
    expect((await api(request, secret, "GET", "/ping")).status).toBe(401);

    // The audit log names the key as the actor of each change.
    const auditLog = await page.goto(`/admin/audit-log?target=${created.json.id as string}`);
    expect(auditLog?.status()).toBe(200);
    const byKey = page.getByRole("row").filter({ hasText: `API key "${uiName}"` });
    await expect(byKey.filter({ hasText: renamed }).first()).toBeVisible();
    await expect(byKey).toHaveCount(3); // created, renamed, disabled
    await request.dispose();
  });
});
