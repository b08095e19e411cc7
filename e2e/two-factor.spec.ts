import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import {
  ageConfirmation,
  expectNoAxeViolations,
  freshContext,
  inviteUser,
  PASSWORD,
  ROLE_OPTION,
  setTwoFactorPolicyInDatabase,
  setUpTwoFactor,
} from "./support";

// SPEC §12, two-factor authentication, as a person. Screenshots go to test-results/ (ignored).
const SHOTS = path.join(import.meta.dirname, "..", "test-results", "two-factor");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

/** The page at desktop and phone width, both saved. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

async function signInWithPassword(page: Page, email: string): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
}

test("set up 2FA by scanning, then sign in with a code, then with a recovery code, which is refused the second time", async ({
  browser,
}) => {
  const account = { name: "Tara Twofactor", email: `tfa-${Date.now()}@latchkey.test` };
  const { context, page } = await inviteUser(browser, "staff", account);
  try {
    await page.setViewportSize(DESKTOP);
    const section = page.getByTestId("two-factor-section");
    await expect(section.getByRole("heading", { name: /Two-factor authentication/ })).toBeVisible();
    await expect(section.getByText("Off", { exact: true })).toBeVisible();
    await section.scrollIntoViewIfNeeded();
    await shoot(page, "profile-off");

    await section.getByRole("button", { name: "Set up two-factor authentication" }).click();
    const dialog = page.getByRole("dialog", { name: "Set up two-factor authentication" });
    const { app, recoveryCodes } = await setUpTwoFactor(dialog, {
      onQr: async () => {
        await shoot(page, "setup-dialog");
        await expectNoAxeViolations(page);
        // A wrong code first: a clear message under the field, nothing turned on.
        await dialog.getByLabel("Authentication code").fill("000000");
        await dialog.getByRole("button", { name: "Turn on" }).click();
        await expect(dialog.getByText("The authentication code is not correct, or it has expired.")).toBeVisible();
        await expect(dialog.getByLabel("Authentication code")).toHaveAttribute("aria-invalid", "true");
      },
      onCodes: async () => {
        await shoot(page, "recovery-codes");
        await expectNoAxeViolations(page);
      },
    });
    await dialog.getByRole("button", { name: "Done" }).click();
    await expect(dialog).toBeHidden();
    await expect(section.getByText("On", { exact: true })).toBeVisible();
    await expect(section.getByText(/10 of 10 recovery codes left/)).toBeVisible();
    await shoot(page, "profile-on");

    // Sign out, and in again: the password is no longer enough.
    await signOut(page);
    await signInWithPassword(page, account.email);
    await expect(page).toHaveURL(/\/sign-in\/two-factor$/);
    await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
    await expect(page.getByText(account.email)).toBeVisible();
    // The waiting sign-in opens nothing: the Profile sends it back to the second step.
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/sign-in\/two-factor$/);
    await shoot(page, "second-step");
    await expectNoAxeViolations(page);

    // The code that turned it on was used already; a fresh one gets in.
    await page.getByLabel("Authentication code").fill(app.last());
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page.getByText(/That code has already been used|The authentication code is not correct/)).toBeVisible();
    await expectNoAxeViolations(page);
    await page.getByLabel("Authentication code").fill(await app.next());
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByRole("heading", { name: "Profile" })).toBeVisible();

    // A recovery code instead (typed in capitals): it works once.
    await signOut(page);
    await signInWithPassword(page, account.email);
    await expect(page).toHaveURL(/\/sign-in\/two-factor$/);
    await page.getByLabel("Authentication code").fill(recoveryCodes[0]!.toUpperCase());
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("two-factor-section").getByText(/9 of 10 recovery codes left/)).toBeVisible();

    await signOut(page);
    await signInWithPassword(page, account.email);
    await expect(page).toHaveURL(/\/sign-in\/two-factor$/);
    await page.getByLabel("Authentication code").fill(recoveryCodes[0]!);
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page.getByText("That recovery code has already been used. Each one works once.")).toBeVisible();
    await expect(page).toHaveURL(/\/sign-in\/two-factor$/);
    await shoot(page, "second-step-refused");

    // Use another account: the waiting sign-in ends; the second step is gone.
    await page.getByRole("button", { name: "Use another account" }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.goto("/sign-in/two-factor");
    await expect(page).toHaveURL(/\/sign-in$/);

    // Turn off asks for a code; 16 minutes after signing in, Confirm it's you's password as well, in the same dialog.
    await signInWithPassword(page, account.email);
    await page.getByLabel("Authentication code").fill(await app.next());
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await ageConfirmation(account.email, 16);
    await page.getByTestId("two-factor-section").getByRole("button", { name: "Turn off" }).click();
    const off = page.getByRole("dialog", { name: "Turn off two-factor authentication" });
    await off.getByLabel("Authentication code").fill(recoveryCodes[1]!);
    await off.getByRole("button", { name: "Turn off" }).click();
    await expect(off.getByText("Confirm it's you: enter your password as well to continue.")).toBeVisible();
    await off.getByLabel("Password").fill(PASSWORD);
    await off.getByLabel("Authentication code").fill("111111");
    await off.getByRole("button", { name: "Turn off" }).click();
    await expect(off.getByText("The authentication code is not correct, or it has expired.")).toBeVisible();
    await shoot(page, "turn-off-dialog");
    await expectNoAxeViolations(page);
    await off.getByLabel("Authentication code").fill(recoveryCodes[1]!);
    await off.getByRole("button", { name: "Turn off" }).click();
    await expect(off).toBeHidden();
    await expect(page.getByTestId("two-factor-section").getByText("Off", { exact: true })).toBeVisible();
    await expect(page.getByText("Two-factor authentication is off.")).toBeVisible();
    // Confirmed by it, too: Reveal and the rest ask nothing for 15 minutes. And signing in asks no code.
    await signOut(page);
    await signInWithPassword(page, account.email);
    await expect(page).toHaveURL(/\/profile$/);
  } finally {
    await context.close();
  }
});

test("Require two-factor authentication For Owners and Admins sends a new Admin to set it up before anything else", async ({ browser }) => {
  // An Admin with 2FA sets the policy (the Owner, without 2FA, would be held back by it too).
  const first = { name: "Ada Policy", email: `tfa-policy-${Date.now()}@latchkey.test` };
  const { context, page } = await inviteUser(browser, "admin", first);
  const second = { name: "Noah Newadmin", email: `tfa-new-${Date.now()}@latchkey.test` };
  const newcomer = await freshContext(browser);
  try {
    await page.getByTestId("two-factor-section").getByRole("button", { name: "Set up two-factor authentication" }).click();
    const dialog = page.getByRole("dialog", { name: "Set up two-factor authentication" });
    await setUpTwoFactor(dialog);
    await dialog.getByRole("button", { name: "Done" }).click();

    await page.goto("/admin/settings");
    const policy = page.getByLabel("Require two-factor authentication");
    await expect(policy).toHaveValue("off");
    await expect(policy.getByRole("option")).toHaveText(["Off", "For Owners and Admins", "For everyone"]);
    await policy.selectOption({ label: "For Owners and Admins" });
    await policy.locator("xpath=ancestor::form").getByRole("button", { name: "Apply" }).click();
    await expect(page.getByText("Settings saved.")).toBeVisible();
    await page.reload();
    await expect(page.getByLabel("Require two-factor authentication")).toHaveValue("admins");
    await shoot(page, "admin-settings-policy");
    await expectNoAxeViolations(page);

    // The Admin invites another Admin, who accepts in their own browser.
    await page.goto("/admin/users");
    await page.getByRole("button", { name: "Invite user" }).click();
    const invite = page.getByRole("dialog", { name: "Invite user" });
    await invite.getByLabel("Email").fill(second.email);
    await invite.getByLabel("Role").selectOption({ label: ROLE_OPTION.admin });
    await invite.getByRole("button", { name: "Create invite" }).click();
    const link = await invite.getByLabel("Invite link", { exact: true }).inputValue();

    const next = await newcomer.newPage();
    await next.setViewportSize(DESKTOP);
    await next.goto(link);
    await next.getByLabel("Name").fill(second.name);
    await next.getByLabel("Password").fill(PASSWORD);
    await next.getByRole("button", { name: "Create account" }).click();
    // Before anything else: the set-up.
    await expect(next).toHaveURL(/\/two-factor-required$/);
    await expect(next.getByRole("heading", { name: "Set up two-factor authentication" })).toBeVisible();
    await shoot(next, "forced-setup");
    await expectNoAxeViolations(next);
    for (const where of ["/profile", "/admin/users", "/admin/api-access"]) {
      await next.goto(where);
      await expect(next).toHaveURL(/\/two-factor-required$/);
    }
    await next.getByRole("button", { name: "Set up two-factor authentication" }).click();
    await setUpTwoFactor(next.locator("main"), { onQr: () => shoot(next, "forced-setup-qr") });
    await next.getByRole("button", { name: "Continue" }).click();
    await expect(next).toHaveURL(/\/profile$/);
    await expect(next.getByTestId("two-factor-section").getByText("Your organisation requires two-factor authentication.")).toBeVisible();
    // Required: no Turn off.
    await expect(next.getByTestId("two-factor-section").getByRole("button", { name: "Turn off" })).toHaveCount(0);
    await next.goto("/admin/users");
    await expect(next).toHaveURL(/\/admin\/users$/);

    // Back to Off, through the page.
    await page.goto("/admin/settings");
    await page.getByLabel("Require two-factor authentication").selectOption({ label: "Off" });
    await page
      .getByLabel("Require two-factor authentication")
      .locator("xpath=ancestor::form")
      .getByRole("button", { name: "Apply" })
      .click();
    await expect(page.getByText("Settings saved.")).toBeVisible();
  } finally {
    // Whatever happened above, the rest of the run must not be held back.
    await setTwoFactorPolicyInDatabase(first.email, "off");
    await newcomer.close();
    await context.close();
  }
});
