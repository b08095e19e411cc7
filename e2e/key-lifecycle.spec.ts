import { expect, test, type Page } from "@playwright/test";
import {
  addKeyOnProfile,
  basicAuth,
  cardOf,
  expectNoAxeViolations,
  KEY_DIALOG,
  KEY_SHAPE,
  keyRowOf,
  ping,
  screenshot,
  storageStateOf,
} from "./support";

/** The key lifecycle on the Profile page (SPEC §11): Expiration, Description, Expires, rotation with a grace period, phones. */

const DAY = 24 * 60 * 60 * 1000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** "7 Dec 2026", as every page writes a day (UTC). */
const day = {
  format: (at: number | Date) => {
    const d = new Date(at);
    return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  },
};
/** The date the table shows for now + `days` (either side of a UTC midnight the run may straddle). */
const dayFromNow = (days: number) =>
  new RegExp(`^(${day.format(Date.now() + days * DAY)}|${day.format(Date.now() + days * DAY + 60_000)})$`);

/** Axe with no toast on screen: a toast still fading in is measured half transparent. */
async function expectNoAxeViolationsWithoutToasts(page: Page): Promise<void> {
  await expect(page.locator("[data-sonner-toast]")).toHaveCount(0, { timeout: 15_000 });
  await expectNoAxeViolations(page);
}

test.describe("key lifecycle on the profile", () => {
  test.use({ storageState: storageStateOf("staff") });

  test("Expiration and Description: a key expiring in 7 days shows when in Expires, with its description", async ({ page }) => {
    const name = `Seven days ${Date.now()}`;
    await page.goto("/profile");
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    // Every choice, 90 days first (no policy in this run).
    const expiration = add.getByLabel("Expiration", { exact: true });
    await expect(expiration.locator("option")).toHaveText(["7 days", "30 days", "90 days", "1 year", "Custom date", "No expiration"]);
    await expect(expiration).toHaveValue("90d");
    await expect(add.getByText(/The key stops working on/)).toBeVisible();
    await expectNoAxeViolations(page);
    await page.keyboard.press("Escape");

    const secret = await addKeyOnProfile(page, name, {
      expiration: "7 days",
      description: "Nightly export to the warehouse.\nOwned by the data team.",
    });
    const row = keyRowOf(page, name);
    await expect(row).toHaveCount(1);
    // Expires is the 4th data column after Name, Key, Access Level, Created.
    const headers = await page.getByRole("table", { name: "Your API keys" }).getByRole("columnheader").allTextContents();
    const expiresCell = row.getByRole("cell").nth(headers.findIndex((h) => h.trim() === "Expires"));
    await expect(expiresCell).toHaveText(dayFromNow(7));
    await expect(row.getByText("Nightly export to the warehouse.")).toBeVisible();
    await expect(row.getByText("Active")).toBeVisible();
    expect(await ping(page, secret)).toBe(200);

    // Last used, with the address it was used from.
    await page.reload();
    const lastUsed = row.getByRole("cell").nth(headers.findIndex((h) => h.trim() === "Last used"));
    await expect(lastUsed).toContainText(day.format(Date.now()));
    await expect(lastUsed.getByTitle("Last used IP address")).toHaveText(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    await screenshot(page, "profile-key-expires");
    // On a 1280 px screen the table fits: nothing (the actions least of all) scrolls out of view.
    const fits = await page
      .getByRole("table", { name: "Your API keys" })
      .evaluate((table) => table.scrollWidth <= table.parentElement!.clientWidth);
    expect(fits).toBe(true);

    // No expiration shows Never.
    const forever = `Forever ${Date.now()}`;
    await addKeyOnProfile(page, forever, { expiration: "No expiration" });
    await expect(
      keyRowOf(page, forever)
        .getByRole("cell")
        .nth(headers.findIndex((h) => h.trim() === "Expires")),
    ).toHaveText("Never");
  });

  test("bad Expiration and Description input: the message is under the field and nothing is added", async ({ page }) => {
    const name = `Custom ${Date.now()}`;
    await page.goto("/profile");
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(name);
    await add.getByLabel("Expiration", { exact: true }).selectOption({ label: "Custom date" });
    await expect(add.getByText("The key works until 23:59:59 UTC that day.")).toBeVisible();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByLabel("Expiration date")).toHaveAccessibleDescription(/Enter a date \(YYYY-MM-DD\)\./);
    await add.getByLabel("Description").fill("x".repeat(501));
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByLabel("Description")).toHaveAccessibleDescription(/The description must be at most 500 characters\./);
    // What was chosen and typed stays.
    await expect(add.getByLabel("Name")).toHaveValue(name);
    await expect(add.getByLabel("Expiration", { exact: true })).toHaveValue("custom");
    await screenshot(page, "add-api-key-expiration-errors");

    // A date in the past: the service's refusal, beside the date.
    await add.getByLabel("Description").fill("Short.");
    await add.getByLabel("Expiration date").fill("2020-01-31");
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByLabel("Expiration date")).toHaveAccessibleDescription(/The expiration must be in the future\./);
    await page.keyboard.press("Escape");
    await expect(keyRowOf(page, name)).toHaveCount(0);

    // A real date: the key works until the end of that UTC day.
    const date = new Date(Date.now() + 20 * DAY).toISOString().slice(0, 10);
    await addKeyOnProfile(page, name, { expiration: "Custom date", date });
    const row = keyRowOf(page, name);
    await expect(row.getByTitle(`${day.format(new Date(`${date}T12:00:00Z`))}, 23:59 UTC`)).toBeVisible();
  });

  test("Edit API Key saves the name and the description together", async ({ page }) => {
    const name = `Describe me ${Date.now()}`;
    await page.goto("/profile");
    await addKeyOnProfile(page, name);
    const row = keyRowOf(page, name);
    await row.getByRole("button", { name: "Settings" }).click();
    const edit = page.getByRole("dialog", { name: KEY_DIALOG });
    await edit.getByLabel("Description").fill("y".repeat(501));
    await edit.getByRole("button", { name: "Update" }).click();
    await expect(edit.getByLabel("Description")).toHaveAccessibleDescription(/at most 500 characters/);
    const renamed = `${name} v2`;
    await edit.getByLabel("Name").fill(renamed);
    await edit.getByLabel("Description").fill("Runs the billing sync.");
    await edit.getByRole("button", { name: "Update" }).click();
    await expect(page.getByText(`API key "${renamed}" saved.`)).toBeVisible();
    await page.keyboard.press("Escape");
    const renamedRow = keyRowOf(page, renamed);
    await expect(renamedRow.getByText("Runs the billing sync.")).toBeVisible();
    // Clearing it removes it.
    await renamedRow.getByRole("button", { name: "Settings" }).click();
    await edit.getByLabel("Description").fill("");
    await edit.getByRole("button", { name: "Update" }).click();
    await expect(page.getByText(`API key "${renamed}" saved.`).first()).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(renamedRow.getByText("Runs the billing sync.")).toHaveCount(0);
  });

  test("Regenerate with 1 hour: both secrets work, then Revoke old secret now refuses the old one at once", async ({ page }) => {
    const name = `Rotate ${Date.now()}`;
    await page.goto("/profile");
    const old = await addKeyOnProfile(page, name);
    expect(await ping(page, old)).toBe(200);

    const row = keyRowOf(page, name);
    await row.getByRole("button", { name: "Settings" }).click();
    const edit = page.getByRole("dialog", { name: KEY_DIALOG });
    await edit.getByRole("button", { name: "Regenerate" }).click();
    // The confirmation is titled by what it does.
    await expect(page.getByRole("dialog", { name: "Regenerate API key?" })).toBeVisible();
    const grace = edit.getByRole("group", { name: "Keep the old secret working for" });
    await expect(grace.getByRole("radio")).toHaveCount(4);
    await expect(grace.getByRole("radio", { name: "No grace period" })).toBeChecked();
    await grace.getByRole("radio", { name: "1 hour" }).check();
    await expect(edit.getByText(/the old secret keeps working for 1 hour/)).toBeVisible();
    await expectNoAxeViolationsWithoutToasts(page);
    await screenshot(page, "regenerate-grace-period");
    const before = Date.now();
    await edit.getByRole("button", { name: "Regenerate" }).click();
    const fresh = (await edit.getByTestId("new-api-key").textContent())!.trim();
    expect(fresh).toMatch(KEY_SHAPE);
    expect(fresh).not.toBe(old);
    await expect(edit.getByText(/The old secret keeps working until/)).toBeVisible();
    await edit.getByRole("button", { name: "Done" }).click();

    // Both work; answers to the old one carry Sunset, about an hour away.
    expect(await ping(page, fresh)).toBe(200);
    const oldAnswer = await page.request.get("/api/v1/ping", { headers: basicAuth(old) });
    expect(oldAnswer.status()).toBe(200);
    const sunset = Date.parse(oldAnswer.headers()["sunset"] ?? "");
    expect(sunset).toBeGreaterThan(before + 3_590_000);
    expect(sunset).toBeLessThan(Date.now() + 3_610_000);

    // The row says until when, and offers to end it.
    const notice = row.getByTestId("previous-secret");
    await expect(notice).toContainText("The old secret works until");
    await screenshot(page, "profile-previous-secret");
    await notice.getByRole("button", { name: "Revoke old secret now" }).click();
    const revoke = page.getByRole("dialog", { name: "Revoke the old secret?" });
    await expect(revoke.getByText(/stops working at once/)).toBeVisible();
    await expectNoAxeViolationsWithoutToasts(page);
    await revoke.getByRole("button", { name: "Revoke" }).click();
    await expect(page.getByText(`API key "${name}": the old secret no longer works.`)).toBeVisible();
    expect(await ping(page, old)).toBe(401);
    expect(await ping(page, fresh)).toBe(200);
    await expect(row.getByTestId("previous-secret")).toHaveCount(0);
  });

  test("an expired key shows Expired, and Regenerate asks for a new Expiration and makes it work again", async ({ page }) => {
    const name = `Short-lived ${Date.now()}`;
    await page.goto("/profile");
    const maker = await addKeyOnProfile(page, `${name} maker`, { expiration: "7 days", readWrite: true });
    // The dialog cannot make a key that expires in seconds; the API can (expires_at).
    const created = await page.request.post("/api/v1/api_keys", {
      headers: basicAuth(maker),
      data: { name, expires_at: new Date(Date.now() + 3_000).toISOString() },
    });
    expect(created.status()).toBe(201);
    const secret = ((await created.json()) as { key: string }).key;
    await expect.poll(() => ping(page, secret), { timeout: 10_000 }).toBe(401);

    await page.reload();
    const row = keyRowOf(page, name);
    await expect(row.getByText("Expired", { exact: true })).toBeVisible();
    await row.getByRole("button", { name: "Settings" }).click();
    const edit = page.getByRole("dialog", { name: KEY_DIALOG });
    await edit.getByRole("button", { name: "Regenerate" }).click();
    await expect(edit.getByText("This key has expired.", { exact: false })).toBeVisible();
    // An expired secret does not work, so there is nothing to keep working.
    await expect(edit.getByRole("group", { name: "Keep the old secret working for" })).toHaveCount(0);
    await edit.getByLabel("Expiration", { exact: true }).selectOption({ label: "30 days" });
    await expectNoAxeViolationsWithoutToasts(page);
    await edit.getByRole("button", { name: "Regenerate" }).click();
    const fresh = (await edit.getByTestId("new-api-key").textContent())!.trim();
    await edit.getByRole("button", { name: "Done" }).click();
    expect(await ping(page, fresh)).toBe(200);
    expect(await ping(page, secret)).toBe(401);
    await expect(row.getByText("Active")).toBeVisible();
    await expect(row.getByText(dayFromNow(30))).toBeVisible();
  });

  test("on a 390 px phone every key is a card with every action reachable", async ({ page }) => {
    const name = `Phone ${Date.now()}`;
    await page.goto("/profile");
    const secret = await addKeyOnProfile(page, name, { description: "Used by the mobile build." });
    // A grace period, so the card offers Revoke old secret now too.
    await keyRowOf(page, name).getByRole("button", { name: "Settings" }).click();
    const edit = page.getByRole("dialog", { name: KEY_DIALOG });
    await edit.getByRole("button", { name: "Regenerate" }).click();
    await edit.getByRole("radio", { name: "24 hours" }).check();
    await edit.getByRole("button", { name: "Regenerate" }).click();
    const fresh = (await edit.getByTestId("new-api-key").textContent())!.trim();
    await edit.getByRole("button", { name: "Done" }).click();

    await page.setViewportSize({ width: 390, height: 844 });
    await expect(page.getByRole("table", { name: "Your API keys" })).toBeHidden();
    const card = cardOf(page, name);
    await expect(card).toBeVisible();
    for (const label of ["Key", "Access Level", "Created", "Expires", "Last used"]) {
      await expect(card.getByRole("term").filter({ hasText: new RegExp(`^${label}$`) })).toBeVisible();
    }
    await expect(card.getByText("Used by the mobile build.")).toBeVisible();
    await expect(card.getByText("Active")).toBeVisible();
    // Nothing is off-screen: the page does not scroll sideways and every button is inside the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    const buttons = card.getByRole("button");
    for (let i = 0; i < (await buttons.count()); i++) {
      const box = (await buttons.nth(i).boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
    }
    await screenshot(page, "profile-keys-phone");
    await expectNoAxeViolationsWithoutToasts(page);

    // Each action works from the card.
    await card.getByRole("button", { name: "Reveal" }).click();
    await expect(card.getByTestId("api-key-value")).toHaveText(fresh);
    await card.getByRole("button", { name: "Hide" }).click();
    await card.getByRole("button", { name: "Copy" }).click();
    await expect(page.getByText("API key copied to the clipboard")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(fresh);
    await card.getByRole("button", { name: "QR Code" }).click();
    await expect(page.getByRole("dialog", { name: "QR Code" }).getByTestId("api-key-qr")).toBeVisible();
    await page.keyboard.press("Escape");
    await card.getByRole("button", { name: "Settings" }).click();
    await expect(edit.getByLabel("Name")).toHaveValue(name);
    await screenshot(page, "edit-api-key-dialog-phone");
    await expectNoAxeViolationsWithoutToasts(page);
    await page.keyboard.press("Escape");
    expect(await ping(page, secret)).toBe(200);
    await card.getByRole("button", { name: "Revoke old secret now" }).click();
    await page.getByRole("dialog", { name: "Revoke the old secret?" }).getByRole("button", { name: "Revoke" }).click();
    await expect(card.getByTestId("previous-secret")).toHaveCount(0);
    expect(await ping(page, secret)).toBe(401);

    // Sort by works without column headers.
    await page.getByLabel("Sort by").selectOption({ label: "Name, descending" });
    await expect(page.getByLabel("Sort by")).toHaveValue("name:desc");
  });
});
