import { expect, test } from "@playwright/test";
import { ACCOUNTS, expectNoAxeViolations, PASSWORD, screenshot, signIn, storageStateOf } from "./support";

test.describe("sign-in and sign-out", () => {
  test("a wrong password gets one generic error; the right one signs in; Sign out ends the session", async ({ page }) => {
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/sign-in$/);

    await page.getByLabel("Email").fill(ACCOUNTS.staff.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.locator("form").getByRole("alert")).toHaveText("Incorrect email or password.");
    await screenshot(page, "sign-in-error");

    await signIn(page, ACCOUNTS.staff.email);
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Profile" })).toBeVisible();
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/sign-in$/);
  });

  test("an unknown email gets the same generic error", async ({ page }) => {
    await page.goto("/sign-in");
    await page.getByLabel("Email").fill("nobody@latchkey.test");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.locator("form").getByRole("alert")).toHaveText("Incorrect email or password.");
  });

  test("the sign-in and 404 pages have no axe-core violations", async ({ page }) => {
    await page.goto("/sign-in");
    await expectNoAxeViolations(page);
    await screenshot(page, "sign-in");
    await page.goto("/no-such-page");
    await expectNoAxeViolations(page);
  });
});

test.describe("navigation by role", () => {
  test("the owner sees the admin pages in the navigation", async ({ browser }) => {
    const context = await browser.newContext({ storageState: storageStateOf("owner") });
    const page = await context.newPage();
    await page.goto("/profile");
    const nav = page.getByRole("navigation", { name: "Main" });
    for (const name of ["Profile", "API Access Manager", "Users", "Audit log"]) {
      await expect(nav.getByRole("link", { name })).toBeVisible();
    }
    await page.goto("/admin/users");
    await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
    for (const account of Object.values(ACCOUNTS)) await expect(page.getByRole("cell", { name: account.email })).toBeVisible();
    await screenshot(page, "users");
    await context.close();
  });

  for (const role of ["staff", "read_only", "lite"] as const) {
    test(`${role} gets a 404 on every admin page and sees no admin links`, async ({ browser }) => {
      const context = await browser.newContext({ storageState: storageStateOf(role) });
      const page = await context.newPage();
      await page.goto("/profile");
      await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" })).toHaveCount(0);
      for (const url of ["/admin/users", "/admin/api-access", "/admin/audit-log"]) {
        const response = await page.goto(url);
        expect(response?.status(), url).toBe(404);
        await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
      }
      await context.close();
    });
  }
});
