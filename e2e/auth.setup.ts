import AxeBuilder from "@axe-core/playwright";
import { expect, test as setup } from "@playwright/test";
import { ACCOUNTS, PASSWORD, ROLE_OPTION, screenshot, storageStateOf } from "./support";

setup.describe.configure({ mode: "serial" });

setup("first run: create the owner account", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Create the owner account" })).toBeVisible();
  expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);

  // Bad input first: a clear message beside each field, and no account.
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Enter a name.")).toBeVisible();
  await page.getByLabel("Name").fill(ACCOUNTS.owner.name);
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Enter a valid email address.")).toBeVisible();
  await expect(page.getByText("The password must be at least 8 characters.")).toBeVisible();
  await screenshot(page, "setup-errors");

  await page.getByLabel("Email").fill(ACCOUNTS.owner.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByRole("heading", { name: "Profile" })).toBeVisible();
  await page.context().storageState({ path: storageStateOf("owner") });

  // Setup is gone once the Owner exists.
  const second = await page.request.get("/setup");
  expect(second.status()).toBe(404);
});

for (const role of ["admin", "staff", "read_only", "lite"] as const) {
  setup(`invite and accept: ${role}`, async ({ browser }) => {
    const ownerContext = await browser.newContext({ storageState: storageStateOf("owner") });
    const owner = await ownerContext.newPage();
    await owner.goto("/admin/users");
    await owner.getByRole("button", { name: "Invite user" }).click();
    const dialog = owner.getByRole("dialog", { name: "Invite user" });
    await dialog.getByLabel("Email").fill(ACCOUNTS[role].email);
    await dialog.getByLabel("Role").selectOption({ label: ROLE_OPTION[role] });
    await dialog.getByRole("button", { name: "Create invite" }).click();
    const link = await dialog.getByLabel("Invite link", { exact: true }).inputValue();
    expect(link).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);
    if (role === "staff") await screenshot(owner, "invite-dialog");
    await ownerContext.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(link);
    await expect(page.getByRole("heading", { name: "Join Latchkey" })).toBeVisible();
    if (role === "staff") {
      expect((await new AxeBuilder({ page }).analyze()).violations).toEqual([]);
      await screenshot(page, "accept-invite");
    }
    await page.getByLabel("Name").fill(ACCOUNTS[role].name);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByText(ACCOUNTS[role].name).first()).toBeVisible();
    await context.storageState({ path: storageStateOf(role) });

    // The link works once.
    await page.goto(link);
    await expect(page.getByText("This invite link has already been used.")).toBeVisible();
    await context.close();
  });
}
