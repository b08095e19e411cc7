import { devices, expect, test, type Page } from "@playwright/test";
import { expectNoAxeViolations, freshContext, inviteUser, rowOf, screenshot, signIn, storageStateOf } from "./support";

// Every session signed out here is a fresh sign-in of a fresh person: the stored sessions of
// auth.setup.ts, which the other specs reuse, are never touched.

/** The sessions listed on Profile (table rows on a desktop, cards on a phone). */
const sessionRows = (page: Page) => page.getByTestId("sessions-section").getByTestId("session").filter({ visible: true });

test("Sign out ends the session: a copy of its cookie opens nothing and runs no action", async ({ browser }) => {
  const email = `copied-${Date.now()}@latchkey.test`;
  const invited = await inviteUser(browser, "staff", { name: "Casey Copied", email });
  await invited.context.close();

  const original = await freshContext(browser);
  const page = await original.newPage();
  await signIn(page, email);
  const cookies = await original.cookies();

  // A copy made before Sign out works, like the original...
  const thief = await freshContext(browser);
  await thief.addCookies(cookies);
  const stolen = await thief.newPage();
  await stolen.goto("/profile");
  await expect(stolen.getByRole("heading", { name: "Profile" })).toBeVisible();

  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);

  // ...and after it, a page load is sent to sign in,
  const replay = await freshContext(browser);
  await replay.addCookies(cookies);
  const replayed = await replay.newPage();
  await replayed.goto("/profile");
  await expect(replayed).toHaveURL(/\/sign-in$/);

  // and a server action from the page that was already open is refused (no key is made).
  await stolen.getByRole("button", { name: "Add API Key" }).click();
  const add = stolen.getByRole("dialog", { name: "Add API Key" });
  await add.getByLabel("Name").fill("Made with a stolen cookie");
  await add.getByRole("radio", { name: /Read & Write/ }).check();
  await add.getByRole("button", { name: "Add", exact: true }).click();
  await expect(add.getByText("Your session has ended. Sign in again.")).toBeVisible();
  await expect(add.getByTestId("new-api-key")).toHaveCount(0);

  await signIn(page, email);
  await expect(rowOf(page, "Made with a stolen cookie")).toHaveCount(0);
  for (const context of [original, thief, replay]) await context.close();
});

test("Profile lists the sessions; Sign out on the other row ends it", async ({ browser }) => {
  const email = `sessions-${Date.now()}@latchkey.test`;
  const invited = await inviteUser(browser, "staff", { name: "Sasha Sessions", email });
  // Closing a browser does not end its session; signing out does.
  await invited.page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await expect(invited.page).toHaveURL(/\/sign-in$/);
  await invited.context.close();
  const laptop = await freshContext(browser);
  const phone = await browser.newContext({
    userAgent: devices["iPhone 13"].userAgent,
    viewport: { width: 375, height: 812 },
    isMobile: true,
    hasTouch: true,
  });
  const a = await laptop.newPage();
  const b = await phone.newPage();
  await signIn(b, email);
  await signIn(a, email);

  const section = a.getByTestId("sessions-section");
  await expect(section.getByRole("heading", { name: "Sessions" })).toBeVisible();
  for (const header of ["Device", "IP address", "Signed in", "Last active"]) {
    await expect(section.getByRole("columnheader", { name: header })).toBeVisible();
  }
  await expect(sessionRows(a)).toHaveCount(2);
  const current = sessionRows(a).filter({ hasText: "This session" });
  await expect(current).toHaveCount(1);
  await expect(current).toContainText(/Chrome on (Linux|Windows|macOS)/);
  await expect(current).toContainText("127.0.0.1");
  await expect(sessionRows(a).filter({ hasNotText: "This session" })).toContainText("Safari on iPhone");
  await expectNoAxeViolations(a);
  await section.scrollIntoViewIfNeeded();
  await screenshot(a, "profile-sessions");

  // The phone sees the same two sessions, its own marked.
  await b.reload();
  await expect(sessionRows(b)).toHaveCount(2);
  await expect(sessionRows(b).filter({ hasText: "This session" })).toHaveCount(1);
  await expect(sessionRows(b).first()).toContainText("IP address");
  await expectNoAxeViolations(b);
  await b.getByTestId("sessions-section").scrollIntoViewIfNeeded();
  await screenshot(b, "profile-sessions-phone");

  // Sign out on the other row: the phone is signed out on its next navigation.
  await sessionRows(a).filter({ hasNotText: "This session" }).getByRole("button", { name: "Sign out" }).click();
  await expect(sessionRows(a)).toHaveCount(1);
  await b.reload();
  await expect(b).toHaveURL(/\/sign-in$/);

  // Sign out other sessions.
  await signIn(b, email);
  await a.reload();
  await expect(sessionRows(a)).toHaveCount(2);
  await a.getByRole("button", { name: "Sign out other sessions" }).click();
  await expect(a.getByText("1 other session was signed out.")).toBeVisible();
  await expect(sessionRows(a)).toHaveCount(1);
  await b.goto("/profile");
  await expect(b).toHaveURL(/\/sign-in$/);

  // Sign out on this session's own row signs this browser out.
  await sessionRows(a).getByRole("button", { name: "Sign out" }).click();
  await expect(a).toHaveURL(/\/sign-in$/);
  await laptop.close();
  await phone.close();
});

test("an admin's Sign out everywhere ends a person's sessions", async ({ browser }) => {
  const email = `everywhere-${Date.now()}@latchkey.test`;
  const { context: personContext, page: person } = await inviteUser(browser, "read_only", { name: "Eve Everywhere", email });
  const second = await freshContext(browser);
  await signIn(await second.newPage(), email);

  const adminContext = await browser.newContext({ storageState: storageStateOf("admin") });
  const admin = await adminContext.newPage();
  await admin.goto("/admin/users");
  // Never oneself, never the Owner from an Admin.
  await expect(admin.getByRole("row").filter({ hasText: "(you)" }).getByRole("button", { name: "Sign out everywhere" })).toHaveCount(0);
  await expect(rowOf(admin, "owner@latchkey.test").getByRole("button", { name: "Sign out everywhere" })).toHaveCount(0);

  await rowOf(admin, email).getByRole("button", { name: "Sign out everywhere" }).click();
  const dialog = admin.getByRole("dialog", { name: "Sign out everywhere" });
  await expect(dialog).toContainText("Eve Everywhere");
  await dialog.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(admin.getByText("Eve Everywhere is signed out everywhere (2 sessions).")).toBeVisible();

  await person.reload();
  await expect(person).toHaveURL(/\/sign-in$/);
  const other = second.pages()[0]!;
  await other.reload();
  await expect(other).toHaveURL(/\/sign-in$/);
  for (const context of [personContext, second, adminContext]) await context.close();
});

test("repeated wrong passwords say how long to wait", async ({ page }) => {
  const email = `nobody-${Date.now()}@latchkey.test`;
  await page.goto("/sign-in");
  const alert = page.locator("form").getByRole("alert");
  for (let i = 0; i < 12; i++) {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(`wrong password ${i}`);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
    if (/Too many/.test((await alert.textContent()) ?? "")) break;
  }
  await expect(alert).toHaveText(/^Too many failed sign-ins\. Try again in \d+ seconds?\.$/);
});
