/**
 * The core journeys, written once and run in every engine (SPEC §20): Chromium and Firefox
 * through Playwright, WebKit through WebDriver (e2e/journeys.spec.ts, e2e/journeys.webkit.spec.ts).
 * Each starts in a new browser (no cookies) and signs in as a person does; each ends by checking
 * that its engine met no console error, no Content-Security-Policy violation (the browsers'
 * reports, in the server's log) and no 404 or 5xx on a page.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "@playwright/test";
import { PNG } from "pngjs";
import jsQR from "jsqr";
import { serverLogPath } from "../server-log";
import { ACCOUNTS, KEY_DIALOG, KEY_SHAPE, PASSWORD, SCREENSHOTS } from "../support";
import { eventually, type Box, type Driver, type Target } from "./driver";

export interface Journey {
  name: string;
  run(driver: Driver): Promise<void>;
}

const stamp = () => `${Date.now().toString(36)}`;

async function signIn(driver: Driver, email: string): Promise<void> {
  await driver.goto("/sign-in");
  await driver.fill({ label: "Email" }, email);
  await driver.fill({ label: "Password" }, PASSWORD);
  await driver.click({ role: "button", name: "Sign in" });
  await driver.waitForPath(/^\/profile$/);
  await driver.waitForHydration();
}

const toast = (text: string | RegExp): Target => ({ text, within: { role: "region", name: /Notifications/ } });

/** Adds a key with the Profile's Add API Key dialog (its focus starts in Name); returns the secret shown once, the dialog still open. */
async function addKey(driver: Driver, name: string): Promise<{ secret: string; dialog: Target }> {
  const dialog: Target = { role: "dialog", name: "Add API Key" };
  await driver.click({ role: "button", name: "Add API Key" });
  await driver.waitFor(dialog);
  await eventually(async () => ((await driver.focused()).name === "Name" ? true : undefined), "focus in Name when Add API Key opens");
  await driver.fill({ label: "Name", within: dialog }, name);
  await driver.click({ role: "radio", name: /Read & Write/, within: dialog });
  await driver.click({ role: "button", name: "Add", within: dialog });
  const secret = await driver.text({ testId: "new-api-key", within: dialog });
  expect(secret).toMatch(KEY_SHAPE);
  return { secret, dialog };
}

async function decodeQr(driver: Driver, target: Target): Promise<string | null> {
  const bytes = await driver.elementPng(target);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  fs.writeFileSync(path.join(SCREENSHOTS, `${driver.engine}-qr-code.png`), bytes);
  const png = PNG.sync.read(bytes);
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

/** Whether a page is wider than its window (it would scroll sideways). */
const scrollsSideways = (driver: Driver) =>
  driver.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));

const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Where the server's log stands: what a journey added to it is read from here on. */
function logMark(): number {
  const file = serverLogPath(process.env.E2E_PORT);
  return fs.existsSync(file) ? fs.statSync(file).size : 0;
}

/**
 * No console error or uncaught exception in the page; and in the server's log, from `mark` on, no
 * CSP violation reported by this browser and no 404 or 5xx answered to it for a page, an asset or
 * an icon (the API's refusals are answers, not faults).
 */
async function expectClean(driver: Driver, mark: number): Promise<void> {
  expect(await driver.takeErrors(), "errors in the page").toEqual([]);
  const userAgent = await driver.userAgent();
  const file = serverLogPath(process.env.E2E_PORT);
  // The browser sends its CSP reports on its own time: give them a moment to arrive.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const added = fs.readFileSync(file).subarray(mark).toString("utf8").split("\n");
  const violations = added.filter((line) => line.includes("csp violation") && line.includes(userAgent.slice(0, 100)));
  expect(violations, "CSP violations reported by the browser").toEqual([]);
  const faults = added
    .filter((line) => line.startsWith("[e2e] answer "))
    .map((line) => JSON.parse(line.slice("[e2e] answer ".length)) as { status: number; url: string; ua: string })
    .filter((answer) => answer.ua === userAgent && (answer.status === 404 || answer.status >= 500) && !answer.url.startsWith("/api/v1/"));
  expect(faults, "404s and 5xx answered to the browser").toEqual([]);
}

export const JOURNEYS: Journey[] = [
  {
    name: "a person's keys: add and copy, copy from the row and paste, reveal, QR code, rename, regenerate, disable, enable, delete",
    async run(driver) {
      const mark = logMark();
      await driver.setViewport(1440, 900);
      await signIn(driver, ACCOUNTS.staff.email);
      const name = `${driver.engine} journey ${stamp()}`;

      // Add, and copy from the dialog: the clipboard holds the key.
      const { secret, dialog } = await addKey(driver, name);
      await driver.click({ role: "button", name: "Copy", within: dialog });
      await driver.waitFor(toast("API key copied to the clipboard."));
      await driver.click({ role: "button", name: "Done", within: dialog });
      await driver.waitFor(dialog, "hidden");
      // Pasted outside the dialog (it keeps the focus while open).
      expect(await driver.paste()).toBe(secret);
      // The next copy's toast must be its own.
      await driver.waitFor(toast("API key copied to the clipboard."), "hidden");

      // Copy from the row: the key comes from the server after the click, and still arrives.
      const row: Target = { rowOf: name };
      const actions: Target = { role: "group", name: `Actions for ${name}` };
      await driver.copy("something else");
      expect(await driver.paste()).toBe("something else");
      await driver.click({ role: "button", name: "Copy", within: actions });
      await driver.waitFor(toast("API key copied to the clipboard."));
      expect(await driver.paste()).toBe(secret);

      // Reveal, with the focus kept on the button (now Hide).
      await driver.click({ role: "button", name: "Reveal", within: actions });
      await driver.waitFor({ role: "button", name: "Hide", within: actions });
      expect(await driver.text({ testId: "api-key-value", within: row })).toBe(secret);
      expect((await driver.focused()).name).toBe("Hide");
      await driver.screenshot("profile-1440");
      await driver.click({ role: "button", name: "Hide", within: actions });
      await driver.waitFor({ role: "button", name: "Reveal", within: actions });

      // QR code: it decodes to the key.
      await driver.click({ role: "button", name: "QR Code", within: actions });
      const qr: Target = { role: "dialog", name: "QR Code" };
      await driver.waitFor({ testId: "api-key-qr", within: qr });
      expect(await eventually(() => decodeQr(driver, { testId: "api-key-qr", within: qr }).then((d) => d ?? undefined), "QR code")).toBe(
        secret,
      );
      await driver.press("Escape");
      await driver.waitFor(qr, "hidden");

      // Rename.
      const edit: Target = { role: "dialog", name: KEY_DIALOG };
      const renamed = `${name} renamed`;
      await driver.click({ role: "button", name: "Settings", within: actions });
      await driver.fill({ label: "Name", within: edit }, renamed);
      await driver.click({ role: "button", name: "Update", within: edit });
      await driver.waitFor(toast(`API key "${renamed}" saved.`));
      await driver.press("Escape");
      await driver.waitFor(edit, "hidden");
      const renamedActions: Target = { role: "group", name: `Actions for ${renamed}` };
      await driver.waitFor(renamedActions);

      // Regenerate: a new secret, shown once.
      await driver.click({ role: "button", name: "Settings", within: renamedActions });
      await driver.click({ role: "button", name: "Regenerate", within: edit });
      await driver.waitFor({ text: /gets a new secret at once/, within: edit });
      await driver.click({ role: "button", name: "Regenerate", within: edit });
      const regenerated = await driver.text({ testId: "new-api-key", within: edit });
      expect(regenerated).toMatch(KEY_SHAPE);
      expect(regenerated).not.toBe(secret);
      await driver.click({ role: "button", name: "Done", within: edit });
      await driver.waitFor(edit, "hidden");

      // Disable, then enable.
      const renamedRow: Target = { rowOf: renamed };
      await driver.click({ role: "button", name: "Settings", within: renamedActions });
      await driver.click({ role: "button", name: "Disable", within: edit });
      await driver.waitFor({ text: "Disabled", within: renamedRow });
      await driver.click({ role: "button", name: "Settings", within: renamedActions });
      await driver.click({ role: "button", name: "Enable", within: edit });
      await driver.waitFor({ text: "Active", within: renamedRow });

      // Delete, confirmed.
      await driver.click({ role: "button", name: "Settings", within: renamedActions });
      await driver.click({ role: "button", name: "Delete", within: edit });
      await driver.waitFor({ text: /This is permanent/, within: edit });
      await driver.click({ role: "button", name: "Delete", within: edit });
      await driver.waitFor(toast(`API key "${renamed}" deleted.`));
      await driver.waitFor(renamedRow, "hidden");

      await expectClean(driver, mark);
    },
  },
  {
    name: "the Access Manager: search, a filter, a sort, and a row's Settings menu by keyboard",
    async run(driver) {
      const mark = logMark();
      await driver.setViewport(1440, 900);
      await signIn(driver, ACCOUNTS.admin.email);
      const name = `${driver.engine} audited ${stamp()}`;
      const { dialog } = await addKey(driver, name);
      await driver.click({ role: "button", name: "Done", within: dialog });
      await driver.waitFor(dialog, "hidden");

      await driver.goto("/admin/api-access");
      await driver.waitFor({ role: "heading", name: "API Access Manager" });
      // Search: the one key.
      await driver.fill({ label: "Search" }, name);
      await driver.waitFor({ text: /^1–1 of 1 key$/ });
      await driver.waitFor({ rowOf: name });
      // A filter: Active keys still show it; Disabled ones do not.
      await driver.select({ label: "Status" }, "Disabled");
      await driver.waitFor({ rowOf: name }, "hidden");
      await driver.select({ label: "Status" }, "Active");
      await driver.waitFor({ rowOf: name });
      // A sort: by name, ascending, said so by the header.
      await driver.click({ role: "button", name: "Name", within: { role: "columnheader", name: /Name/ } });
      await eventually(
        async () => ((await driver.attribute({ role: "columnheader", name: /Name/ }, "aria-sort")) === "ascending" ? true : undefined),
        "the Name column to sort ascending",
      );
      // Still the one key: the search typed, the filter and the sort each built on the last.
      await driver.waitFor({ text: /^1–1 of 1 key$/ });
      await driver.screenshot("access-manager-1440");
      // Its selects are drawn by the app, not by each engine (WebKit drew grey native buttons).
      const drawn = await driver.evaluate(() =>
        [...document.querySelectorAll("select")].map((select) => {
          const style = getComputedStyle(select);
          return { appearance: style.appearance || style.getPropertyValue("-webkit-appearance"), image: style.backgroundImage !== "none" };
        }),
      );
      expect(drawn.length).toBeGreaterThan(3);
      for (const select of drawn) expect(select).toEqual({ appearance: "none", image: true });

      // The row's Settings menu, by keyboard: from the row's checkbox, Tab to Settings, Enter opens it.
      await driver.click({ role: "checkbox", name: `Select ${name}` });
      await eventually(async () => {
        if ((await driver.focused()).name === "Settings") return true;
        await driver.press("Tab");
        return undefined;
      }, "Tab to reach the row's Settings");
      await driver.press("Enter");
      // Radix names the menu after the button that opened it.
      const menu: Target = { role: "menu", name: "Settings" };
      await driver.waitFor(menu);
      await driver.press("Escape");
      await driver.waitFor(menu, "hidden");
      expect((await driver.focused()).name).toBe("Settings");
      await driver.press("Enter");
      await driver.waitFor(menu);
      await eventually(async () => {
        if ((await driver.focused()).name === "Disable") return true;
        await driver.press("ArrowDown");
        return undefined;
      }, "the menu's Disable");
      await driver.press("Enter");
      // Confirm it's you is not due (signed in just now): the key is disabled, and leaves the Active filter.
      await driver.waitFor(toast(`API key "${name}" disabled.`));
      await driver.waitFor({ rowOf: name }, "hidden");

      await expectClean(driver, mark);
    },
  },
  {
    name: "on a phone: the Menu, cards, no page wider than the screen, a toast that covers nothing just pressed",
    async run(driver) {
      const mark = logMark();
      await driver.setViewport(driver.phoneWidth, 844);
      await signIn(driver, ACCOUNTS.admin.email);
      const name = `${driver.engine} phone ${stamp()}`;
      const { dialog } = await addKey(driver, name);
      await driver.click({ role: "button", name: "Done", within: dialog });
      await driver.waitFor(dialog, "hidden");

      // The key is a card; its Copy's toast lies over none of the card's buttons, even at the
      // bottom of the screen (where a toast used to be).
      const actions: Target = { role: "group", name: `Actions for ${name}` };
      await driver.scrollTo(actions, "end");
      const before = await driver.box(actions);
      await driver.click({ role: "button", name: "Copy", within: actions });
      const copied = toast("API key copied to the clipboard.");
      await driver.waitFor(copied);
      const toastBox = await driver.box({ role: "listitem", within: { role: "region", name: /Notifications/ } });
      const actionsBox = await driver.box(actions);
      expect(
        overlaps(toastBox, actionsBox),
        `the toast ${JSON.stringify(toastBox)} over the card's buttons ${JSON.stringify(before)}`,
      ).toBe(false);
      await driver.screenshot("profile-phone");

      // Every page through the Menu: each link taken where a thumb lands, each page as wide as the screen.
      for (const [link, path] of [
        ["API Access Manager", /^\/admin\/api-access$/],
        ["Users", /^\/admin\/users$/],
        ["Audit log", /^\/admin\/audit-log$/],
        ["Settings", /^\/admin\/settings$/],
        ["Profile", /^\/profile$/],
      ] as const) {
        await driver.click({ role: "button", name: "Menu" });
        await driver.click({ role: "link", name: link, within: { role: "navigation", name: "Main" } });
        await driver.waitForPath(path);
        await driver.waitForHydration();
        const { scroll, width } = await scrollsSideways(driver);
        expect(scroll, `${link} is wider than the screen`).toBeLessThanOrEqual(width);
        if (link === "API Access Manager") await driver.screenshot("access-manager-phone");
      }

      await expectClean(driver, mark);
    },
  },
];
