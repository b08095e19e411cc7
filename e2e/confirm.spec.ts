import { expect, test } from "@playwright/test";
import { ageConfirmation, expectNoAxeViolations, inviteUser, KEY_SHAPE, PASSWORD, rowOf, setUpTwoFactor } from "./support";

// SPEC §12, Confirm it's you: 16 minutes after signing in, Reveal asks the password, then reveals
// (no second click). The server's clock cannot be moved, so the session's confirmation is aged in
// the e2e database instead (ageConfirmation).
test("Reveal after 16 minutes asks Confirm it's you, then reveals", async ({ browser }) => {
  const account = { name: "Connie Confirm", email: `confirm-${Date.now()}@latchkey.test` };
  const { context, page } = await inviteUser(browser, "staff", account);
  try {
    const name = `Confirmed key ${Date.now()}`;
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(name);
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
    expect(secret).toMatch(KEY_SHAPE);
    await add.getByRole("button", { name: "Done" }).click();

    // Within 15 minutes of signing in: no question asked.
    const row = rowOf(page, name);
    await row.getByRole("button", { name: "Reveal" }).click();
    await expect(row.getByTestId("api-key-value")).toHaveText(secret);
    await row.getByRole("button", { name: "Hide" }).click();
    await expect(row.getByTestId("api-key-value")).not.toHaveText(secret);

    await ageConfirmation(account.email, 16);
    await row.getByRole("button", { name: "Reveal" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await expect(dialog).toBeVisible();
    // (The page behind a modal dialog is hidden from the accessibility tree: look for the text.)
    await expect(page.getByText(secret)).toHaveCount(0);
    await expect(dialog.getByLabel("Password")).toBeFocused();
    await expectNoAxeViolations(page);

    // A wrong password: the message under the field, the dialog stays, nothing is revealed.
    await dialog.getByLabel("Password").fill("not my password");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect(dialog.getByText("The password is not correct.")).toBeVisible();
    await expect(dialog.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
    await expectNoAxeViolations(page);
    await expect(page.getByText(secret)).toHaveCount(0);

    // The right one: the dialog closes and the reveal the person asked for happens.
    await dialog.getByLabel("Password").fill(PASSWORD);
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect(dialog).toBeHidden();
    await expect(row.getByTestId("api-key-value")).toHaveText(secret);

    // Confirmed for the next 15 minutes: Copy asks nothing now.
    await row.getByRole("button", { name: "Copy" }).click();
    await expect(page.getByText("API key copied to the clipboard")).toBeVisible();
    await expect(page.getByRole("dialog", { name: "Confirm it's you" })).toHaveCount(0);

    // Cancelling leaves everything as it was.
    await ageConfirmation(account.email, 16);
    await row.getByRole("button", { name: "Hide" }).click();
    await row.getByRole("button", { name: "Reveal" }).click();
    await page.getByRole("dialog", { name: "Confirm it's you" }).getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("dialog", { name: "Confirm it's you" })).toHaveCount(0);
    await expect(row.getByTestId("api-key-value")).not.toHaveText(secret);
  } finally {
    await context.close();
  }
});

// With two-factor authentication, Confirm it's you asks the code as well; both must be right.
test("with two-factor authentication, Confirm it's you asks the password and a code, then reveals", async ({ browser }) => {
  const account = { name: "Colin Codes", email: `confirm-tfa-${Date.now()}@latchkey.test` };
  const { context, page } = await inviteUser(browser, "staff", account);
  try {
    await page.getByTestId("two-factor-section").getByRole("button", { name: "Set up two-factor authentication" }).click();
    const setup = page.getByRole("dialog", { name: "Set up two-factor authentication" });
    const { app } = await setUpTwoFactor(setup);
    await setup.getByRole("button", { name: "Done" }).click();
    await expect(setup).toBeHidden();

    const name = `Guarded key ${Date.now()}`;
    await page.getByRole("button", { name: "Add API Key" }).click();
    const add = page.getByRole("dialog", { name: "Add API Key" });
    await add.getByLabel("Name").fill(name);
    await add.getByRole("button", { name: "Add", exact: true }).click();
    const secret = (await add.getByTestId("new-api-key").textContent())!.trim();
    await add.getByRole("button", { name: "Done" }).click();

    await ageConfirmation(account.email, 16);
    const row = rowOf(page, name);
    await row.getByRole("button", { name: "Reveal" }).click();
    const dialog = page.getByRole("dialog", { name: "Confirm it's you" });
    await expect(dialog.getByLabel("Password")).toBeFocused();
    await expect(dialog.getByLabel("Authentication code")).toBeVisible();
    await page.screenshot({ path: "test-results/two-factor/confirm-with-code-desktop.png" });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: "test-results/two-factor/confirm-with-code-phone.png" });
    await page.setViewportSize({ width: 1280, height: 900 });
    await expectNoAxeViolations(page);

    // The right password with a wrong code: refused under the code, nothing revealed.
    await dialog.getByLabel("Password").fill(PASSWORD);
    await dialog.getByLabel("Authentication code").fill("000000");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect(dialog.getByText("The authentication code is not correct, or it has expired.")).toBeVisible();
    await expect(dialog.getByLabel("Authentication code")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByText(secret)).toHaveCount(0);

    // Both right: the dialog closes and the reveal happens.
    await dialog.getByLabel("Authentication code").fill(await app.next());
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect(dialog).toBeHidden();
    await expect(row.getByTestId("api-key-value")).toHaveText(secret);
  } finally {
    await context.close();
  }
});
