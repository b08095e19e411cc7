import { expect, test as setup } from "@playwright/test";
import { ACCOUNTS, expectNoAxeViolations, inviteUser, PASSWORD, screenshot, storageStateOf } from "./support";

setup.describe.configure({ mode: "serial" });

setup("first run: create the owner account", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole("heading", { name: "Create the owner account" })).toBeVisible();
  await expectNoAxeViolations(page);

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
    const { context, page, link } = await inviteUser(browser, role, ACCOUNTS[role], {
      onDialog: async (owner) => {
        expect(await owner.getByLabel("Invite link", { exact: true }).inputValue()).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);
        if (role === "staff") await screenshot(owner, "invite-dialog");
      },
      onInvitePage: async (invitee) => {
        if (role !== "staff") return;
        await expectNoAxeViolations(invitee);
        await screenshot(invitee, "accept-invite");
      },
    });
    await expect(page.getByText(ACCOUNTS[role].name).first()).toBeVisible();
    await context.storageState({ path: storageStateOf(role) });

    // The link works once.
    await page.goto(link);
    await expect(page.getByText("This invite link has already been used.")).toBeVisible();
    await context.close();
  });
}
