import { expect, test, type Browser, type Page } from "@playwright/test";
import { SSO_ACCOUNTS } from "./sso";
import { ageConfirmation, expectNoAxeViolations, freshContext, hydrated, ROLE_OPTION, rowOf, screenshot, storageStateOf } from "./support";

/**
 * Single sign-on (SPEC §12) as people meet it: **Sign in with SSO** on /sign-in, the identity
 * provider's own sign-in (a real OpenID provider on a local port, started by e2e/server.ts), and
 * back. A person Latchkey knows gets in; someone it does not is refused with a message; an invite
 * is honoured with its role.
 */

/** As the Owner, invites `email` with `role` from the Users page (the link is never opened). */
async function invite(browser: Browser, email: string, role: keyof typeof ROLE_OPTION): Promise<void> {
  const ownerContext = await browser.newContext({ storageState: storageStateOf("owner") });
  const owner = await ownerContext.newPage();
  await owner.goto("/admin/users");
  const button = owner.getByRole("button", { name: "Invite user" });
  await hydrated(button);
  await button.click();
  const dialog = owner.getByRole("dialog", { name: "Invite user" });
  await dialog.getByLabel("Email").fill(email);
  await dialog.getByLabel("Role").selectOption({ label: ROLE_OPTION[role] });
  await dialog.getByRole("button", { name: "Create invite" }).click();
  await expect(dialog.getByLabel("Invite link", { exact: true })).toBeVisible();
  await ownerContext.close();
}

async function signInWithSso(page: Page, email: string): Promise<void> {
  await page.goto("/sign-in");
  const sso = page.getByRole("button", { name: "Sign in with SSO" });
  await hydrated(sso);
  await sso.click();
  await expect(page.getByRole("heading", { name: "Test identity provider" })).toBeVisible();
  await page.getByLabel("Email at the provider").fill(email);
  await page.getByRole("button", { name: "Continue to Latchkey" }).click();
}

test.describe("single sign-on", () => {
  test("the sign-in page offers it, on a desktop and a phone", async ({ page }) => {
    await page.goto("/sign-in");
    await expect(page.getByRole("button", { name: "Sign in with SSO" })).toBeVisible();
    await expectNoAxeViolations(page);
    await screenshot(page, "sign-in-sso");
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, "sign-in-sso-phone");
  });

  test("a person Latchkey knows signs in through the provider and lands on their Profile", async ({ page }) => {
    await signInWithSso(page, SSO_ACCOUNTS.owner.email);
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByRole("heading", { name: "API keys" })).toBeVisible();
    // Their own account: the provider's name for them changed nothing here.
    await expect(page.getByText("Olivia Owner").first()).toBeVisible();
  });

  test("someone the provider knows but Latchkey does not is refused, and told why", async ({ page }) => {
    await signInWithSso(page, SSO_ACCOUNTS.stranger.email);
    await expect(page).toHaveURL(/\/sign-in\?.*error=Sso_no_account/);
    // (Next.js's route announcer is an empty alert of its own.)
    await expect(page.getByRole("alert").filter({ hasText: /\S/ })).toHaveText(
      "No Latchkey account or invite matches the email your identity provider gave. Ask an admin to invite you.",
    );
    await expectNoAxeViolations(page);
    await screenshot(page, "sign-in-sso-refused");
    // Still signed out.
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/sign-in/);
  });

  test("an invite is honoured: the invitee signs in with SSO and has the invited role", async ({ browser }) => {
    await invite(browser, SSO_ACCOUNTS.invitee.email, "staff");

    // The invitee never opens the link: they sign in through the provider.
    const inviteeContext = await freshContext(browser);
    const invitee = await inviteeContext.newPage();
    await signInWithSso(invitee, SSO_ACCOUNTS.invitee.email);
    await expect(invitee).toHaveURL(/\/profile$/);
    await expect(invitee.getByText(SSO_ACCOUNTS.invitee.name).first()).toBeVisible();
    await inviteeContext.close();

    const ownerContext = await browser.newContext({ storageState: storageStateOf("owner") });
    const owner = await ownerContext.newPage();
    await owner.goto("/admin/users");
    const row = owner.getByRole("row").filter({ hasText: SSO_ACCOUNTS.invitee.email });
    await expect(row).toContainText("Staff");
    await ownerContext.close();
  });

  test("an account with no password confirms it's you by signing in with SSO again, then reveals", async ({ browser }) => {
    await invite(browser, SSO_ACCOUNTS.confirmer.email, "staff");
    const context = await freshContext(browser);
    const page = await context.newPage();
    await signInWithSso(page, SSO_ACCOUNTS.confirmer.email);
    await expect(page).toHaveURL(/\/profile$/);

    // No password to change either: the Password section says so instead of offering a form that cannot work.
    await expect(page.getByText("Your account signs in with single sign-on and has no password here")).toBeVisible();
    await expect(page.getByLabel("Current password")).toHaveCount(0);

    const name = `SSO key ${Date.now()}`;
    const addButton = page.getByRole("button", { name: "Add API Key" });
    await hydrated(addButton);
    await addButton.click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(name);
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
    await add.getByRole("button", { name: "Done" }).click();

    // 16 minutes on: Reveal asks. There is no password to type, and no code: only SSO again.
    await ageConfirmation(SSO_ACCOUNTS.confirmer.email, 16);
    await rowOf(page, name).getByRole("button", { name: "Reveal" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByLabel("Password")).toHaveCount(0);
    await expectNoAxeViolations(page);
    await screenshot(page, "confirm-with-sso");
    await dialog.getByRole("button", { name: "Sign in with SSO" }).click();
    // The provider may remember the person (its own session): then it answers at once.
    const providerForm = page.getByLabel("Email at the provider");
    await expect(providerForm.or(page.getByRole("heading", { name: "API keys" }))).toBeVisible();
    if (await providerForm.isVisible()) {
      await providerForm.fill(SSO_ACCOUNTS.confirmer.email);
      await page.getByRole("button", { name: "Continue to Latchkey" }).click();
    }
    await expect(page).toHaveURL(/\/profile$/);

    // Signed in afresh: Reveal reveals, without asking.
    const row = rowOf(page, name);
    await hydrated(row.getByRole("button", { name: "Reveal" }));
    await row.getByRole("button", { name: "Reveal" }).click();
    await expect(row.getByTestId("api-key-value")).toHaveText(secret);
    await expect(page.getByRole("dialog", { name: "Confirm it's you" })).toHaveCount(0);
    await context.close();
  });
});
