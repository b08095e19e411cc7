import { expect, test } from "@playwright/test";
import { basicAuth, expectNoAxeViolations, hydrated, inviteUser, storageStateOf } from "./support";

/**
 * Service accounts (SPEC §12), as an Admin uses them: added on the Users page, given a key in the
 * API Access Manager, and that key works with the API as the service account's.
 */

const stamp = Date.now().toString(36);

test.describe("service accounts", () => {
  test.use({ storageState: storageStateOf("admin") });

  test("an admin adds a service account and a key for it; the key works and whoami says service_account", async ({
    page,
    playwright,
    baseURL,
  }) => {
    const accountName = `Billing sync ${stamp}`;
    const keyName = `billing ${stamp}`;

    // Users: Add service account.
    await page.goto("/admin/users");
    const addAccount = page.getByRole("button", { name: "Add service account" });
    await hydrated(addAccount);
    await addAccount.click();
    const dialog = page.getByRole("dialog", { name: "Add service account" });
    await expect(dialog.getByLabel("Role").locator("option")).toHaveText(["Staff", "Read-only"]);
    await expectNoAxeViolations(page);
    // A name is needed: the field says so and nothing is added.
    await dialog.getByRole("button", { name: "Add service account" }).click();
    await expect(dialog.getByText("Enter a name.")).toBeVisible();
    await dialog.getByLabel("Name").fill(accountName);
    await dialog.getByLabel("Role").selectOption({ label: "Staff" });
    await dialog.getByRole("button", { name: "Add service account" }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText(`Service account ${accountName} added (Staff).`)).toBeVisible();

    // Listed with its badge, never its internal address; no sessions to end, no ownership to take.
    const row = page.getByRole("row").filter({ hasText: accountName });
    await expect(row.getByText("Service account", { exact: true })).toBeVisible();
    await expect(row).not.toContainText("@");
    await expect(row.getByRole("button", { name: "Sign out everywhere" })).toHaveCount(0);
    await expect(row.getByRole("button", { name: "Transfer ownership" })).toHaveCount(0);
    await expect(row.getByRole("combobox", { name: "Role" }).locator("option")).toHaveText(["Staff", "Read-only"]);

    // Access Manager: Add API Key, choosing the service account.
    await page.goto("/admin/api-access");
    const addKey = page.getByRole("button", { name: "Add API Key" });
    await hydrated(addKey);
    await addKey.click();
    const keyDialog = page.getByRole("dialog", { name: "Add API Key" });
    await keyDialog.getByLabel("Service account").selectOption({ label: `${accountName} (Staff)` });
    await keyDialog.getByLabel("Name").fill(keyName);
    await keyDialog.getByRole("radio", { name: /Read & Write/ }).check();
    await expectNoAxeViolations(page);
    await keyDialog.getByRole("button", { name: "Add", exact: true }).click();
    await expect(keyDialog.getByText(`API key ${keyName} was added for ${accountName}.`)).toBeVisible();
    const secret = (await keyDialog.getByTestId("new-api-key").textContent())!.trim();
    expect(secret).toMatch(/^lk_/);
    await expectNoAxeViolations(page);
    await keyDialog.getByRole("button", { name: "Done" }).click();

    // Listed under the service account, without an email.
    await page.goto(`/admin/api-access?q=${encodeURIComponent(keyName)}`);
    const keyRow = page.getByRole("row").filter({ hasText: keyName });
    await expect(keyRow).toContainText(accountName);
    await expect(keyRow).toContainText("Service account");

    // The key works with the API, as the service account's.
    const request = await playwright.request.newContext({ baseURL });
    const whoami = await request.get("/api/v1/whoami", { headers: basicAuth(secret) });
    expect(whoami.status()).toBe(200);
    expect(await whoami.json()).toMatchObject({
      name: keyName,
      access_level: "read_write",
      user: { name: accountName, role: "staff", type: "service_account" },
    });
    await request.dispose();
  });

  test("removing a person, their key moves to a service account and keeps working under its new secret", async ({
    page,
    browser,
    playwright,
    baseURL,
  }) => {
    const accountName = `Deploy bot ${stamp}`;
    const personName = `Dana Departing ${stamp}`;
    const keyName = `dana deploys ${stamp}`;

    // A person with a key of their own.
    const { context, page: person } = await inviteUser(browser, "staff", { name: personName, email: `dana.${stamp}@latchkey.test` });
    await person.goto("/profile");
    await person.getByRole("button", { name: "Add API Key" }).click();
    const add = person.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(keyName);
    await add.getByRole("radio", { name: /Read & Write/ }).check();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const oldSecret = (await add.getByTestId("new-api-key").textContent())!.trim();
    await context.close();

    // A service account to take it.
    await page.goto("/admin/users");
    await hydrated(page.getByRole("button", { name: "Add service account" }));
    await page.getByRole("button", { name: "Add service account" }).click();
    const dialog = page.getByRole("dialog", { name: "Add service account" });
    await dialog.getByLabel("Name").fill(accountName);
    await dialog.getByRole("button", { name: "Add service account" }).click();
    await expect(dialog).toBeHidden();

    // Remove the person, moving the key.
    const row = page.getByRole("row").filter({ hasText: personName });
    await row.getByRole("button", { name: "Remove" }).click();
    const confirm = page.getByRole("dialog", { name: "Remove user" });
    const choice = confirm.getByRole("combobox", { name: `What happens to ${keyName}` });
    await expect(choice.locator("option")).toContainText(["Delete", `Move to ${accountName}`]);
    await choice.selectOption({ label: `Move to ${accountName}` });
    await expectNoAxeViolations(page);
    await confirm.getByRole("button", { name: "Remove" }).click();

    const moved = page.getByRole("dialog", { name: "Moved API keys" });
    await expect(moved).toContainText(`${keyName}, now held by ${accountName}`);
    const newSecret = (await moved.getByTestId("moved-api-key").textContent())!.trim();
    expect(newSecret).toMatch(/^lk_/);
    expect(newSecret).not.toBe(oldSecret);
    await expectNoAxeViolations(page);
    await moved.getByRole("button", { name: "Done" }).click();
    await expect(page.getByRole("row").filter({ hasText: personName })).toHaveCount(0);

    // The person's copy is dead; the new secret works, as the service account's.
    const request = await playwright.request.newContext({ baseURL });
    expect((await request.get("/api/v1/whoami", { headers: basicAuth(oldSecret) })).status()).toBe(401);
    const whoami = await request.get("/api/v1/whoami", { headers: basicAuth(newSecret) });
    expect(whoami.status()).toBe(200);
    expect(await whoami.json()).toMatchObject({
      name: keyName,
      access_level: "read_write",
      user: { name: accountName, type: "service_account" },
    });
    await request.dispose();
  });
});
