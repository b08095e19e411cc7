import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from "@playwright/test";
import { TOTP, URI as OTPAuthURI } from "otpauth";

export type E2ERole = "owner" | "admin" | "staff" | "read_only" | "lite";

export const PASSWORD = "e2e password 123";

/** A full API key, as the dialog shows it once. */
export const KEY_SHAPE = /^lk_[0-9A-Za-z]{49}$/;

/** The Profile's key dialog, titled by what it is doing: editing, or confirming a regenerate or a delete. */
export const KEY_DIALOG = /^(Edit API Key|Regenerate API key\?|Delete API key\?)$/;

export const ACCOUNTS: Record<E2ERole, { name: string; email: string }> = {
  owner: { name: "Olivia Owner", email: "owner@latchkey.test" },
  admin: { name: "Adam Admin", email: "admin@latchkey.test" },
  staff: { name: "Sam Staff", email: "staff@latchkey.test" },
  read_only: { name: "Rita Reader", email: "reader@latchkey.test" },
  lite: { name: "Lee Lite", email: "lite@latchkey.test" },
};

export const ROLE_OPTION: Record<Exclude<E2ERole, "owner">, string> = {
  admin: "Admin",
  staff: "Staff",
  read_only: "Read-only",
  lite: "Lite",
};

/** The signed-in browser state of each role, written by auth.setup.ts. */
// One folder per server port, so two runs on different ports never share sessions.
export const storageStateOf = (role: E2ERole) => path.join(import.meta.dirname, ".auth", process.env.E2E_PORT ?? "3100", `${role}.json`);

// A test run leaves the work tree clean: screenshots go to an ignored folder, and replace the
// committed ones in docs/screenshots only when asked (UPDATE_SCREENSHOTS=1).
export const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === "1"
    ? path.join(import.meta.dirname, "..", "docs", "screenshots")
    : path.join(import.meta.dirname, ".artifacts", "screenshots");

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/profile$/);
}

/** HTTP Basic with the key as the username and an empty password, as the API expects. */
export function basicAuth(key: string): { Authorization: string } {
  return { Authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}` };
}

/** GET /api/v1/ping with `key`; resolves to the status code. */
export async function ping(page: Page, key: string): Promise<number> {
  return (await page.request.get("/api/v1/ping", { headers: basicAuth(key) })).status();
}

/** A table row by the exact text of one of its cells (a key's or a user's name). */
export function rowOf(page: Page, name: string) {
  return page.getByRole("row").filter({ has: page.getByRole("cell", { name, exact: true }) });
}

/** A key's row on the Profile by its name (its Name cell also holds the description, so not rowOf). */
export function keyRowOf(page: Page, name: string) {
  return page.getByRole("row").filter({ has: page.getByText(name, { exact: true }) });
}

/** A key's card (phones, below 640 px) by its name. */
export function cardOf(page: Page, name: string) {
  return page
    .getByTestId("data-card")
    .filter({ visible: true })
    .filter({ has: page.getByText(name, { exact: true }) });
}

/**
 * Resolves once React has hydrated the element, so its handlers run: a select changed or a box
 * checked before that changes the DOM only (React sets its props on the element when it hydrates).
 */
export async function hydrated(locator: Locator): Promise<void> {
  await expect.poll(() => locator.evaluate((element) => Object.keys(element).some((key) => key.startsWith("__reactProps$")))).toBe(true);
}

export async function expectNoAxeViolations(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

/**
 * A new browser with no cookies at all. `browser.newContext()` alone takes the spec's `use`
 * options, a signed-in `storageState` included: a "new" browser there is that person's, and
 * signing someone else in from it ends their session (the browser's cookie names one session).
 */
export function freshContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({ storageState: { cookies: [], origins: [] }, ...options });
}

/**
 * Invites someone with `role` as the Owner, through the Users page, and accepts the invite in a
 * new browser; returns that signed-in browser (close it when done) and the invite link.
 */
export async function inviteUser(
  browser: Browser,
  role: keyof typeof ROLE_OPTION,
  account: { name: string; email: string },
  hooks: { onDialog?: (owner: Page) => Promise<void>; onInvitePage?: (page: Page) => Promise<void> } = {},
): Promise<{ context: BrowserContext; page: Page; link: string }> {
  const ownerContext = await browser.newContext({ storageState: storageStateOf("owner") });
  const owner = await ownerContext.newPage();
  await owner.goto("/admin/users");
  await owner.getByRole("button", { name: "Invite user" }).click();
  const dialog = owner.getByRole("dialog", { name: "Invite user" });
  await dialog.getByLabel("Email").fill(account.email);
  await dialog.getByLabel("Role").selectOption({ label: ROLE_OPTION[role] });
  await dialog.getByRole("button", { name: "Create invite" }).click();
  const link = await dialog.getByLabel("Invite link", { exact: true }).inputValue();
  await hooks.onDialog?.(owner);
  await ownerContext.close();

  const context = await freshContext(browser);
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Join Latchkey" })).toBeVisible();
  await hooks.onInvitePage?.(page);
  await page.getByLabel("Name").fill(account.name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  return { context, page, link };
}

/**
 * Confirm it's you: makes the sessions of the person with `email` look signed in (and last
 * confirmed) `minutes` ago, in the database of the app under test. e2e/server.ts gives each run a
 * fresh PostgreSQL database named latchkey_e2e_*; runs on other ports have their own, so the
 * person is looked for by email (make it unique to the test) and only their sessions change.
 */
export async function ageConfirmation(email: string, minutes: number): Promise<void> {
  const { default: postgres } = await import("postgres");
  const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  let changed = 0;
  try {
    const databases = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'latchkey\_e2e\_%'`;
    for (const { datname } of databases) {
      const url = new URL(adminUrl);
      url.pathname = `/${datname}`;
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`
          update sessions set confirmed_at = now() - make_interval(mins => ${minutes})
          where user_id in (select id from users where lower(email) = lower(${email}))
          returning id`;
        changed += rows.length;
      } catch {
        // A database of another run that is being dropped, or not migrated yet: not ours.
      } finally {
        await sql.end();
      }
    }
  } finally {
    await admin.end();
  }
  if (changed === 0) throw new Error(`No session of ${email} found in an e2e PostgreSQL database (is the run on the embedded one?).`);
}

/** Reads a QR code back from the pixels of the element showing it. */
export async function decodeQrCode(locator: Locator): Promise<string | null> {
  const { PNG } = await import("pngjs");
  const { default: jsQR } = await import("jsqr");
  const png = PNG.sync.read(await locator.screenshot());
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

/**
 * A phone's authenticator app, made from the QR code the set-up showed. The server accepts a code
 * once (and none older), so `next()` gives the code of a step after the last one used: the current
 * one, or, if that was used already, the next step's (one step of drift is allowed).
 */
export class Authenticator {
  private lastStep = -1;
  constructor(readonly totp: TOTP) {}

  static fromUri(uri: string): Authenticator {
    const parsed = OTPAuthURI.parse(uri);
    if (!(parsed instanceof TOTP)) throw new Error(`not a TOTP URI: ${uri}`);
    return new Authenticator(parsed);
  }

  /**
   * A code the server has not seen, and marks its step used. The server takes the next step's code
   * too (clock drift), but no later one: when both are used, this waits for the app's next code,
   * as a person would (at most 30 seconds).
   */
  async next(): Promise<string> {
    while (this.totp.counter() + 1 < this.lastStep + 1) {
      await new Promise((resolve) => setTimeout(resolve, this.totp.remaining() + 50));
    }
    const step = Math.max(this.totp.counter(), this.lastStep + 1);
    this.lastStep = step;
    return this.totp.generate({ timestamp: step * this.totp.period * 1000 });
  }

  /** The code of the step last given (to show it is refused a second time). */
  last(): string {
    return this.totp.generate({ timestamp: this.lastStep * this.totp.period * 1000 });
  }
}

/**
 * Profile's Set up two-factor authentication, as a person: scans the QR code (decoded from its
 * pixels), types the app's code, Turn on; returns the app and the 10 recovery codes shown once.
 * `within` is where the set-up shows (Profile's dialog, or the forced set-up page).
 */
export async function setUpTwoFactor(
  within: Locator,
  hooks: { onQr?: () => Promise<void>; onCodes?: () => Promise<void> } = {},
): Promise<{ app: Authenticator; recoveryCodes: string[] }> {
  const qr = within.getByTestId("two-factor-qr");
  await expect(qr).toBeVisible();
  const uri = await decodeQrCode(qr);
  expect(uri).toMatch(/^otpauth:\/\/totp\/Latchkey:/);
  const app = Authenticator.fromUri(uri!);
  expect(app.totp.issuer).toBe("Latchkey");
  // The Setup key is the same secret, for typing instead of scanning.
  expect((await within.getByTestId("setup-key").textContent())!.replace(/\s/g, "")).toBe(app.totp.secret.base32);
  await hooks.onQr?.();
  await within.getByLabel("Authentication code").fill(await app.next());
  await within.getByRole("button", { name: "Turn on" }).click();
  const list = within.getByTestId("recovery-codes");
  await expect(list.getByRole("listitem")).toHaveCount(10);
  const recoveryCodes = (await list.getByRole("listitem").allTextContents()).map((code) => code.trim());
  for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
  await hooks.onCodes?.();
  return { app, recoveryCodes };
}

/**
 * Sets the organisation's Require two-factor authentication in the e2e database holding the person
 * with `email` (a cleanup that must work even when nobody in the browser may change it any more).
 */
export async function setTwoFactorPolicyInDatabase(email: string, policy: "off" | "admins" | "everyone"): Promise<void> {
  const { default: postgres } = await import("postgres");
  const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const databases = await admin<{ datname: string }[]>`select datname from pg_database where datname like 'latchkey\_e2e\_%'`;
    for (const { datname } of databases) {
      const url = new URL(adminUrl);
      url.pathname = `/${datname}`;
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        await sql`
          update organisation_settings set require_two_factor = ${policy}
          where exists (select 1 from users where lower(email) = lower(${email}))`;
      } catch {
        // A database of another run that is being dropped, or not migrated yet: not ours.
      } finally {
        await sql.end();
      }
    }
  } finally {
    await admin.end();
  }
}

/**
 * Adds a key with the Profile page's Add API Key dialog (opening the page unless it is open),
 * filling what is given, and returns its secret (shown once).
 */
export async function addKeyOnProfile(
  page: Page,
  name: string,
  options: { expiration?: string; date?: string; description?: string; readWrite?: boolean } = {},
): Promise<string> {
  if (new URL(page.url()).pathname !== "/profile") await page.goto("/profile");
  await page.getByRole("button", { name: "Add API Key" }).click();
  const add = page.getByRole("dialog", { name: "Add API Key" });
  await add.getByLabel("Name").fill(name);
  if (options.readWrite) await add.getByRole("radio", { name: /Read & Write/ }).check();
  if (options.expiration) await add.getByLabel("Expiration", { exact: true }).selectOption({ label: options.expiration });
  if (options.date) await add.getByLabel("Expiration date").fill(options.date);
  if (options.description) await add.getByLabel("Description").fill(options.description);
  await add.getByRole("button", { name: "Add", exact: true }).click();
  const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
  expect(secret).toMatch(KEY_SHAPE);
  await add.getByRole("button", { name: "Done" }).click();
  await expect(add).toBeHidden();
  return secret;
}
