import { expect, test, type Browser, type BrowserContext } from "@playwright/test";
import {
  addKeyOnProfile,
  basicAuth,
  expectNoAxeViolations,
  KEY_DIALOG,
  inviteUser,
  ping,
  ROLE_OPTION,
  rowOf,
  screenshot,
  storageStateOf,
} from "./support";

/**
 * The admin pages, as an Admin uses them. The shared accounts (support.ts) are used by other
 * specs, so every key and user this spec changes is its own: throwaway users are invited through
 * the Users page and make their keys on their profile, as people do.
 */

const stamp = `${Date.now().toString(36)}`;

/** A throwaway user of `role`, signed in in a browser of their own. */
async function invite(browser: Browser, role: keyof typeof ROLE_OPTION, name: string, email: string): Promise<BrowserContext> {
  const { context, page } = await inviteUser(browser, role, { name, email });
  await page.close();
  return context;
}

test.describe("API Access Manager", () => {
  test("an admin searches, filters, sorts and pages; disables a key (its owner cannot enable it), enables it, deletes another", async ({
    browser,
    page,
  }) => {
    test.slow();
    const ownerName = `Kim Keyholder ${stamp}`;
    const holder = await invite(browser, "staff", ownerName, `kim.${stamp}@latchkey.test`);
    const holderPage = await holder.newPage();
    const alpha = `${stamp} alpha`;
    const beta = `${stamp} beta`;
    const alphaSecret = await addKeyOnProfile(holderPage, alpha, { readWrite: true });
    const betaSecret = await addKeyOnProfile(holderPage, beta);
    // Enough keys to page through, made through the API with the Read & Write key.
    for (let i = 1; i <= 12; i++) {
      const res = await page.request.post("/api/v1/api_keys", {
        headers: { ...basicAuth(alphaSecret), "Content-Type": "application/json" },
        data: JSON.stringify({ name: `${stamp} bulk ${String(i).padStart(2, "0")}`, access_level: i % 2 ? "read_write" : "read_only" }),
      });
      expect(res.status()).toBe(201);
    }
    expect(await ping(page, alphaSecret)).toBe(200);

    const adminContext = await browser.newContext({ storageState: storageStateOf("admin") });
    const admin = await adminContext.newPage();
    await admin.goto("/admin/api-access");
    await expect(admin.getByRole("heading", { name: "API Access Manager" })).toBeVisible();
    for (const header of ["Name", "Access Level", "User", "Created", "Role", "Status", "Last used"]) {
      await expect(admin.getByRole("columnheader", { name: header })).toBeVisible();
    }
    // Admins never receive a secret, not even in the page payload.
    expect(await admin.content()).not.toContain(alphaSecret);

    // Search by the owner's name.
    await admin.getByLabel("Search", { exact: true }).fill(ownerName);
    await expect(admin).toHaveURL(new RegExp(`q=${encodeURIComponent(ownerName).replace(/%20/g, "\\+")}`));
    await expect(admin.getByText("of 14 keys")).toBeVisible();
    await expect(rowOf(admin, alpha).getByText(`kim.${stamp}@latchkey.test`)).toBeVisible();

    // Filter: Read & Write only.
    await admin.getByLabel("Access Level").selectOption({ label: "Read & Write" });
    await expect(admin).toHaveURL(/level=read_write/);
    await expect(admin.getByText("of 7 keys")).toBeVisible();
    await expect(rowOf(admin, beta)).toHaveCount(0);

    // Sort by name, ascending then descending.
    await admin.getByRole("button", { name: "Name", exact: true }).click();
    await expect(admin).toHaveURL(/sort=name&dir=asc/);
    await expect(admin.getByRole("columnheader", { name: "Name" })).toHaveAttribute("aria-sort", "ascending");
    await expect(admin.getByRole("row").nth(1)).toContainText(alpha);
    await admin.getByRole("button", { name: "Name", exact: true }).click();
    await expect(admin).toHaveURL(/dir=desc/);
    await expect(admin.getByRole("row").nth(1)).toContainText(`${stamp} bulk 11`);

    // Page: 5 a page... the smallest choice is 10: 7 keys fit, so widen the filter back out.
    await admin.getByLabel("Access Level").selectOption({ label: "All access levels" });
    await admin.getByLabel("Rows per page").selectOption("10");
    await expect(admin).toHaveURL(/size=10/);
    await expect(admin.getByText("Page 1 of 2")).toBeVisible();
    await expect(admin.getByRole("row")).toHaveCount(11);
    await admin.getByRole("link", { name: "Next page" }).click();
    await expect(admin).toHaveURL(/page=2/);
    await expect(admin.getByText("Page 2 of 2")).toBeVisible();
    await expect(admin.getByText("11–14 of 14 keys")).toBeVisible();
    // The URL holds the whole view: it survives a reload.
    await admin.reload();
    await expect(admin.getByText("11–14 of 14 keys")).toBeVisible();
    await expect(admin.getByRole("columnheader", { name: "Name" })).toHaveAttribute("aria-sort", "descending");
    await expect(admin.getByLabel("Search", { exact: true })).toHaveValue(ownerName);

    // Disable alpha from its Settings menu.
    await admin.getByLabel("Search", { exact: true }).fill(alpha);
    await expect(admin.getByText("of 1 key")).toBeVisible();
    await rowOf(admin, alpha).getByRole("button", { name: "Settings" }).click();
    await screenshot(admin, "admin-api-access-menu");
    await admin.getByRole("menuitem", { name: "Disable" }).click();
    await expect(admin.getByText(`API key "${alpha}" disabled.`)).toBeVisible();
    await expect(rowOf(admin, alpha).getByText("by an admin")).toBeVisible();
    expect(await ping(page, alphaSecret)).toBe(401);

    // Its owner sees it disabled by an admin and cannot enable it.
    await holderPage.goto("/profile");
    const own = rowOf(holderPage, alpha);
    await expect(own.getByText("Disabled")).toBeVisible();
    await expect(own.getByText("by an admin")).toBeVisible();
    await own.getByRole("button", { name: "Settings" }).click();
    const edit = holderPage.getByRole("dialog", { name: KEY_DIALOG });
    await expect(edit.getByText("Someone else disabled this key")).toBeVisible();
    await expect(edit.getByRole("button", { name: "Enable" })).toBeDisabled();
    await holderPage.keyboard.press("Escape");

    // The admin enables it again.
    await rowOf(admin, alpha).getByRole("button", { name: "Settings" }).click();
    await admin.getByRole("menuitem", { name: "Enable" }).click();
    await expect(admin.getByText(`API key "${alpha}" enabled.`)).toBeVisible();
    await expect(rowOf(admin, alpha).getByText("Active")).toBeVisible();
    expect(await ping(page, alphaSecret)).toBe(200);

    // And deletes beta, after confirming.
    await admin.getByLabel("Search", { exact: true }).fill(beta);
    await expect(admin.getByText("of 1 key")).toBeVisible();
    await rowOf(admin, beta).getByRole("button", { name: "Settings" }).click();
    await admin.getByRole("menuitem", { name: "Delete" }).click();
    const confirm = admin.getByRole("dialog", { name: "Delete API key?" });
    await expect(confirm.getByText(beta)).toBeVisible();
    await screenshot(admin, "admin-api-access-delete");
    await confirm.getByRole("button", { name: "Delete" }).click();
    await expect(admin.getByText(`API key "${beta}" deleted.`)).toBeVisible();
    await expect(admin.getByText("No API keys match").filter({ visible: true })).toBeVisible();
    expect(await ping(page, betaSecret)).toBe(401);

    await adminContext.close();
    await holder.close();
  });

  test("the page survives bad URL state, has no axe violations, and is screenshotted", async ({ browser }) => {
    const context = await browser.newContext({ storageState: storageStateOf("admin") });
    const page = await context.newPage();
    for (const url of [
      "/admin/api-access?sort=password_hash&dir=sideways&page=-4&size=-10",
      "/admin/api-access?page=99999&status=deleted&role=superuser&level=x",
      `/admin/api-access?q=${encodeURIComponent("%_\\' or 1=1 --")}`,
      "/admin/api-access?q=a&q=b&sort=name&sort=role",
    ]) {
      const response = await page.goto(url);
      expect(response?.status(), url).toBe(200);
      await expect(page.getByRole("heading", { name: "API Access Manager" })).toBeVisible();
    }
    await page.goto("/admin/api-access");
    await expect(page.getByRole("row").nth(1)).toBeVisible();
    await expectNoAxeViolations(page);
    await screenshot(page, "admin-api-access");
    // The Settings menu and the delete dialog are accessible too.
    await page.getByRole("row").nth(1).getByRole("button", { name: "Settings" }).click();
    await expect(page.getByRole("menu")).toBeVisible();
    await expectNoAxeViolations(page);
    await page.keyboard.press("Escape");
    // A phone-sized screen: one card per key, and the page does not scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await expect(page.getByRole("heading", { name: "API Access Manager" })).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, "admin-api-access-phone");
    await context.close();
  });
});

test.describe("Users: role changes", () => {
  test("an admin downgrades a Staff user to Read-only (their Read & Write key stops at once), then to Lite (every key goes)", async ({
    browser,
    page,
  }) => {
    test.slow();
    const name = `Dana Downgrade ${stamp}`;
    const email = `dana.${stamp}@latchkey.test`;
    const dana = await invite(browser, "staff", name, email);
    const danaPage = await dana.newPage();
    const writeKey = `${stamp} deploy bot`;
    const readKey = `${stamp} dashboard`;
    const writeSecret = await addKeyOnProfile(danaPage, writeKey, { readWrite: true });
    const readSecret = await addKeyOnProfile(danaPage, readKey);
    expect(await ping(page, writeSecret)).toBe(200);

    const adminContext = await browser.newContext({ storageState: storageStateOf("admin") });
    const admin = await adminContext.newPage();
    await admin.goto("/admin/users");
    const row = admin.getByRole("row").filter({ has: admin.getByRole("cell", { name: email, exact: true }) });
    await expect(row.getByRole("cell", { name: "2", exact: true })).toBeVisible();

    // To Read-only: the dialog lists the Read & Write key, by name, and only it.
    await row.getByRole("combobox", { name: "Role" }).selectOption({ label: "Read-only" });
    const dialog = admin.getByRole("dialog", { name: "Change role" });
    const list = dialog.getByRole("list", { name: "API keys to be deleted" });
    await expect(list.getByRole("listitem")).toHaveText([writeKey]);
    await expect(dialog.getByText(readKey)).toHaveCount(0);
    await screenshot(admin, "admin-users-downgrade");
    await expectNoAxeViolations(admin);
    await dialog.getByRole("button", { name: "Change role" }).click();
    await expect(admin.getByText(`${name} is now Read-only. 1 API key was deleted.`)).toBeVisible();
    await expect(row.getByRole("combobox", { name: "Role" })).toHaveValue("read_only");
    expect(await ping(page, writeSecret)).toBe(401);
    expect(await ping(page, readSecret)).toBe(200);

    // Their session continues, with the new role from the next request on.
    await danaPage.goto("/profile");
    await expect(danaPage.getByText("Read-only", { exact: true }).first()).toBeVisible();
    await expect(rowOf(danaPage, writeKey)).toHaveCount(0);
    await expect(rowOf(danaPage, readKey)).toHaveCount(1);

    // Cancel changes nothing.
    await row.getByRole("combobox", { name: "Role" }).selectOption({ label: "Lite" });
    await expect(dialog.getByRole("listitem")).toHaveText([readKey]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(row.getByRole("combobox", { name: "Role" })).toHaveValue("read_only");
    expect(await ping(page, readSecret)).toBe(200);

    // To Lite: every key goes.
    await row.getByRole("combobox", { name: "Role" }).selectOption({ label: "Lite" });
    await expect(dialog.getByRole("listitem")).toHaveText([readKey]);
    await dialog.getByRole("button", { name: "Change role" }).click();
    await expect(admin.getByText(`${name} is now Lite. 1 API key was deleted.`)).toBeVisible();
    expect(await ping(page, readSecret)).toBe(401);
    await danaPage.goto("/profile");
    await expect(danaPage.getByText("Lite users cannot have API keys").first()).toBeVisible();

    // An upgrade deletes nothing, and says so.
    await row.getByRole("combobox", { name: "Role" }).selectOption({ label: "Staff" });
    await expect(dialog.getByText("No API keys are deleted.")).toBeVisible();
    await dialog.getByRole("button", { name: "Change role" }).click();
    await expect(admin.getByText(`${name} is now Staff.`)).toBeVisible();

    // Remove: confirmed, then they are signed out at once.
    await row.getByRole("button", { name: "Remove" }).click();
    const remove = admin.getByRole("dialog", { name: "Remove user" });
    await expect(remove.getByText("They have no API keys.")).toBeVisible();
    await remove.getByRole("button", { name: "Remove" }).click();
    await expect(admin.getByText(`${name} was removed.`)).toBeVisible();
    await expect(admin.getByRole("cell", { name: email, exact: true })).toHaveCount(0);
    await danaPage.goto("/profile");
    await expect(danaPage).toHaveURL(/\/sign-in/);

    await adminContext.close();
    await dana.close();
  });

  test("an admin cannot change or remove the Owner, nor themselves; the page has no axe violations", async ({ browser }) => {
    const context = await browser.newContext({ storageState: storageStateOf("admin") });
    const page = await context.newPage();
    await page.goto("/admin/users");
    const ownerRow = page.getByRole("row").filter({ has: page.getByRole("cell", { name: "owner@latchkey.test", exact: true }) });
    await expect(ownerRow.getByText("Owner", { exact: true })).toBeVisible();
    await expect(ownerRow.getByRole("combobox", { name: "Role" })).toHaveCount(0);
    await expect(ownerRow.getByRole("button", { name: "Remove" })).toHaveCount(0);
    const selfRow = page.getByRole("row").filter({ hasText: "(you)" });
    await expect(selfRow.getByRole("combobox", { name: "Role" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Transfer ownership" })).toHaveCount(0);
    // No Owner among the choices anywhere.
    for (const select of await page.getByRole("combobox", { name: "Role" }).all()) {
      await expect(select.getByRole("option", { name: "Owner" })).toHaveCount(0);
    }
    await expectNoAxeViolations(page);
    await screenshot(page, "admin-users");
    await context.close();
  });
});

test.describe("Users: ownership", () => {
  test("only the Owner is offered Transfer ownership, with a confirmation that says what happens (cancelled here)", async ({ browser }) => {
    // The shared Owner must stay the Owner for the other specs, so this stops at the confirmation;
    // the transfer itself is covered by tests/integration/admin-users.test.ts.
    const email = `heir.${stamp}@latchkey.test`;
    const heir = await invite(browser, "admin", `Harriet Heir ${stamp}`, email);
    await heir.close();
    const context = await browser.newContext({ storageState: storageStateOf("owner") });
    const page = await context.newPage();
    await page.goto("/admin/users");
    const row = page.getByRole("row").filter({ has: page.getByRole("cell", { name: email, exact: true }) });
    await row.getByRole("button", { name: "Transfer ownership" }).click();
    const dialog = page.getByRole("dialog", { name: "Transfer ownership" });
    await expect(dialog.getByText("You become an Admin")).toBeVisible();
    await expectNoAxeViolations(page);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole("row").filter({ hasText: "(you)" }).getByText("Owner", { exact: true })).toBeVisible();
    await context.close();
  });
});

test.describe("Audit log", () => {
  test("lists newest first and filters by action, actor and target", async ({ browser }) => {
    const context = await browser.newContext({ storageState: storageStateOf("owner") });
    const page = await context.newPage();
    await page.goto("/admin/audit-log");
    await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
    for (const header of ["Time", "Actor", "Action", "Target", "IP"])
      await expect(page.getByRole("columnheader", { name: header })).toBeVisible();

    await page.getByLabel("Action").selectOption({ label: "Signed in" });
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect(page).toHaveURL(/action=auth\.sign_in/);
    const rows = page.getByRole("row");
    await expect(rows.nth(1)).toContainText("Signed in");
    expect(await page.getByRole("cell", { name: "auth.sign_in_failed" }).count()).toBe(0);

    await page.getByLabel(/^Actor/).fill("ADMIN@latchkey");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await expect(page).toHaveURL(/actor=ADMIN/);
    for (const row of (await rows.all()).slice(1)) await expect(row).toContainText("admin@latchkey.test");

    const bad = await page.goto("/admin/audit-log?before=-1&action=user.hacked&size=0&target=%25");
    expect(bad?.status()).toBe(200);
    await page.goto("/admin/audit-log");
    await expectNoAxeViolations(page);
    await screenshot(page, "admin-audit-log");
    await context.close();
  });
});

test.describe("everyone else", () => {
  for (const role of ["staff", "read_only", "lite"] as const) {
    test(`${role} gets the 404 page for every admin URL`, async ({ browser }) => {
      const context = await browser.newContext({ storageState: storageStateOf(role) });
      const page = await context.newPage();
      for (const url of [
        "/admin/api-access",
        "/admin/api-access?sort=name&q=a",
        "/admin/users",
        "/admin/audit-log",
        "/admin/audit-log?action=auth.sign_in",
        "/admin/settings",
      ]) {
        const response = await page.goto(url);
        expect(response?.status(), url).toBe(404);
        await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
      }
      await context.close();
    });
  }
});
