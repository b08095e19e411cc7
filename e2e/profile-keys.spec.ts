import { expect, test, type Page } from "@playwright/test";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { addKeyOnProfile, expectNoAxeViolations, KEY_DIALOG, ping, rowOf, screenshot, storageStateOf } from "./support";

const KEY_SHAPE = /^lk_[0-9A-Za-z]{49}$/;

/** Reads a QR code back from the pixels of the element showing it. */
async function decodeQr(page: Page): Promise<string | null> {
  const png = PNG.sync.read(await page.getByTestId("api-key-qr").last().screenshot());
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

test.describe("a Staff user manages their own keys", () => {
  test.use({ storageState: storageStateOf("staff") });

  test("add, reveal, copy, QR, ping, disable, enable, regenerate, rename, delete", async ({ page }) => {
    const name = `Deploy bot ${Date.now()}`;
    await page.goto("/profile");
    await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();

    // Add: the dialog shows the whole key once.
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await expect(add.getByRole("radio", { name: /Read-only/ })).toBeChecked();
    await screenshot(page, "add-api-key-dialog");
    await add.getByLabel("Name").fill(name);
    await add.getByRole("radio", { name: /Read & Write/ }).check();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
    expect(secret).toMatch(KEY_SHAPE);
    await add.getByRole("button", { name: "QR Code" }).click();
    expect(await decodeQr(page)).toBe(secret);
    await screenshot(page, "new-api-key-dialog");
    await add.getByRole("button", { name: "Done" }).click();

    // The row: masked, Read & Write, Active.
    const row = rowOf(page, name);
    await expect(row).toHaveCount(1);
    await expect(row.getByTestId("api-key-value")).toHaveText(`${secret.slice(0, 7)}••••••••${secret.slice(-4)}`);
    await expect(row.getByRole("cell", { name: "Read & Write" })).toBeVisible();
    await expect(row.getByText("Active")).toBeVisible();

    // Reveal / Hide.
    await row.getByRole("button", { name: "Reveal" }).click();
    await expect(row.getByTestId("api-key-value")).toHaveText(secret);
    await screenshot(page, "profile-api-keys");
    await row.getByRole("button", { name: "Hide" }).click();
    await expect(row.getByTestId("api-key-value")).not.toHaveText(secret);

    // Copy: the clipboard holds the key, and a toast says so.
    await row.getByRole("button", { name: "Copy" }).click();
    await expect(page.getByText("API key copied to the clipboard")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    // QR Code dialog: the code decodes back to the key, captioned with its name.
    await row.getByRole("button", { name: "QR Code" }).click();
    const qr = page.getByRole("dialog", { name: "QR Code" });
    await expect(qr.getByText(name, { exact: true })).toBeVisible();
    await expect(qr.getByTestId("api-key-qr")).toBeVisible();
    expect(await decodeQr(page)).toBe(secret);
    await screenshot(page, "qr-code-dialog");
    await page.keyboard.press("Escape");

    // The key is real.
    expect(await ping(page, secret)).toBe(200);
    const whoami = await page.request.get("/api/v1/whoami", { headers: { Authorization: `Bearer ${secret}` } });
    expect(await whoami.json()).toMatchObject({ name, access_level: "read_write", user: { role: "staff" } });

    // Disable -> 401, Enable -> 200.
    const edit = page.getByRole("dialog", { name: KEY_DIALOG });
    await row.getByRole("button", { name: "Settings" }).click();
    await screenshot(page, "edit-api-key-dialog");
    await edit.getByRole("button", { name: "Disable" }).click();
    await expect(row.getByText("Disabled")).toBeVisible();
    expect(await ping(page, secret)).toBe(401);
    await row.getByRole("button", { name: "Settings" }).click();
    await edit.getByRole("button", { name: "Enable" }).click();
    await expect(row.getByText("Active")).toBeVisible();
    expect(await ping(page, secret)).toBe(200);

    // Regenerate (confirmed): the old secret is refused, the new one works.
    await row.getByRole("button", { name: "Settings" }).click();
    await edit.getByRole("button", { name: "Regenerate" }).click();
    await expect(edit.getByText(/gets a new secret at once/)).toBeVisible();
    await screenshot(page, "regenerate-confirm");
    await edit.getByRole("button", { name: "Regenerate" }).click();
    const regenerated = (await edit.getByTestId("new-api-key").textContent())!.trim();
    expect(regenerated).toMatch(KEY_SHAPE);
    expect(regenerated).not.toBe(secret);
    await edit.getByRole("button", { name: "Done" }).click();
    expect(await ping(page, secret)).toBe(401);
    expect(await ping(page, regenerated)).toBe(200);

    // Rename (Update saves the name with the description): a duplicate-free new name; the key keeps working.
    const renamed = `${name} (renamed)`;
    await row.getByRole("button", { name: "Settings" }).click();
    await edit.getByLabel("Name").fill(renamed);
    await edit.getByRole("button", { name: "Update" }).click();
    await expect(page.getByText(`API key "${renamed}" saved.`)).toBeVisible();
    await page.keyboard.press("Escape");
    // The page with a toast on it passes axe too (Sonner's own colours fall short of AA contrast).
    await expect(page.getByText(`API key "${renamed}" saved.`)).toBeVisible();
    await expectNoAxeViolations(page);
    const renamedRow = rowOf(page, renamed);
    await expect(renamedRow).toHaveCount(1);
    expect(await ping(page, regenerated)).toBe(200);

    // Delete (confirmed): gone from the table and from the API.
    await renamedRow.getByRole("button", { name: "Settings" }).click();
    await edit.getByRole("button", { name: "Delete" }).click();
    await expect(page.getByRole("dialog", { name: "Delete API key?" }).getByText(/This is permanent/)).toBeVisible();
    await edit.getByRole("button", { name: "Delete" }).click();
    // Wait for the action's own answer: while the modal is open the table is aria-hidden, so
    // "no such row" alone would hold before the delete had even reached the server.
    await expect(page.getByText(`API key "${renamed}" deleted.`)).toBeVisible();
    await expect(edit).toBeHidden();
    await expect(renamedRow).toHaveCount(0);
    expect(await ping(page, regenerated)).toBe(401);
  });

  test("where the browser refuses the clipboard, the key is shown selected, with how to copy it", async ({ page }) => {
    // A browser that refuses every write (as WebKit did once the click had awaited the server).
    await page.addInitScript(() => {
      const refuse = () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"));
      Object.defineProperty(navigator.clipboard, "write", { value: refuse });
      Object.defineProperty(navigator.clipboard, "writeText", { value: refuse });
    });
    const name = `Refused copy ${Date.now()}`;
    const secret = await addKeyOnProfile(page, name);
    await rowOf(page, name).getByRole("button", { name: "Copy" }).click();
    const fallback = page.getByRole("dialog", { name: "Copy the API key" });
    await expect(fallback).toBeVisible();
    const field = fallback.getByLabel("API key");
    await expect(field).toHaveValue(secret);
    await expect(field).toBeFocused();
    // Selected whole, so one Ctrl+C takes it; never a message that blames the person or the browser.
    expect(await field.evaluate((input: HTMLInputElement) => [input.selectionStart, input.selectionEnd])).toEqual([0, secret.length]);
    await expect(fallback).toContainText(/press Ctrl\+C to copy it \(⌘C on a Mac\)/);
    await expect(fallback).not.toContainText(/refused|denied|your browser/i);
    await expectNoAxeViolations(page);
    await page.keyboard.press("ControlOrMeta+C");
    await expect(fallback).toBeHidden();
    await expect(page.getByText("API key copied to the clipboard.")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  });

  test("bad names get a clear message beside the field and add nothing", async ({ page }) => {
    const name = `Unique ${Date.now()}`;
    await page.goto("/profile");
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await page.getByRole("button", { name: "Add API Key" }).click();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByText("Enter a name.")).toBeVisible();
    await add.getByLabel("Name").fill("x".repeat(101));
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByText("The name must be at most 100 characters.")).toBeVisible();
    await add.getByLabel("Name").fill(name);
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByTestId("new-api-key")).toBeVisible();
    await page.keyboard.press("Escape");

    await page.getByRole("button", { name: "Add API Key" }).click();
    await add.getByLabel("Name").fill(name.toUpperCase());
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await expect(add.getByLabel("Name")).toHaveAccessibleDescription(/You already have an API key with this name\./);
    await screenshot(page, "add-api-key-duplicate");
    await page.keyboard.press("Escape");
    await expect(rowOf(page, name.toUpperCase())).toHaveCount(0);
    await expect(rowOf(page, name)).toHaveCount(1);
  });

  test("the profile page has no axe-core violations, with and without dialogs", async ({ page }) => {
    await page.goto("/profile");
    await expectNoAxeViolations(page);
    await page.getByRole("button", { name: "Add API Key" }).click();
    await expect(page.getByRole("dialog", { name: "Add API Key" })).toBeVisible();
    await expectNoAxeViolations(page);
  });

  test("works on a phone-sized screen", async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto("/profile");
    await expect(page.getByRole("button", { name: "Add API Key" })).toBeVisible();
    await expect(page.getByRole("banner").getByRole("button", { name: "Sign out" })).toBeVisible();
    await screenshot(page, "profile-phone");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });

  test("pages that can show a secret are not cached", async ({ page }) => {
    const response = await page.goto("/profile");
    expect(response?.headers()["cache-control"]).toContain("no-store");
    expect(response?.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
  });
});

test.describe("role limits on the profile", () => {
  test("a Read-only user can only make Read-only keys, and is told why", async ({ browser }) => {
    const context = await browser.newContext({ storageState: storageStateOf("read_only") });
    const page = await context.newPage();
    await page.goto("/profile");
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await expect(add.getByRole("radio", { name: /Read-only/ })).toBeChecked();
    await expect(add.getByRole("radio", { name: /Read & Write/ })).toBeDisabled();
    await expect(add.getByText("Your role is Read-only, so your keys are Read-only too.")).toBeVisible();
    await screenshot(page, "add-api-key-read-only-user");
    const name = `Reader key ${Date.now()}`;
    await add.getByLabel("Name").fill(name);
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
    await page.keyboard.press("Escape");
    await expect(rowOf(page, name).getByRole("cell", { name: "Read-only" })).toBeVisible();
    // A forged Read & Write request through the API is refused too.
    const forged = await page.request.post("/api/v1/api_keys", {
      headers: { Authorization: `Bearer ${secret}` },
      data: { name: `${name} rw`, access_level: "read_write" },
    });
    expect(forged.status()).toBe(403);
    await context.close();
  });

  test("a Lite user sees why they cannot have keys", async ({ browser }) => {
    const context = await browser.newContext({ storageState: storageStateOf("lite") });
    const page = await context.newPage();
    await page.goto("/profile");
    await expect(page.getByText("Lite users cannot have API keys").first()).toBeVisible();
    await expect(page.getByRole("table", { name: "Your API keys" })).toHaveCount(0);
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await expect(add.getByText("Lite users cannot have API keys")).toBeVisible();
    await expect(add.getByRole("button", { name: "Add", exact: true })).toHaveCount(0);
    await screenshot(page, "add-api-key-lite-user");
    await expectNoAxeViolations(page);
    await context.close();
  });
});
