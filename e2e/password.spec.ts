import { expect, test, type Browser } from "@playwright/test";
import { PASSWORD, signIn, storageStateOf } from "./support";

/** Invites a throwaway Staff user as the owner and accepts the invite; returns their email. */
async function newStaffUser(browser: Browser): Promise<string> {
  const email = `pw-${Date.now()}@latchkey.test`;
  const owner = await browser.newContext({ storageState: storageStateOf("owner") });
  const page = await owner.newPage();
  await page.goto("/admin/users");
  await page.getByRole("button", { name: "Invite user" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite user" });
  await dialog.getByLabel("Email").fill(email);
  await dialog.getByRole("button", { name: "Create invite" }).click();
  const link = await dialog.getByLabel("Invite link", { exact: true }).inputValue();
  await owner.close();
  const context = await browser.newContext();
  const invitee = await context.newPage();
  await invitee.goto(link);
  await invitee.getByLabel("Name").fill("Pat Password");
  await invitee.getByLabel("Password").fill(PASSWORD);
  await invitee.getByRole("button", { name: "Create account" }).click();
  await expect(invitee).toHaveURL(/\/profile$/);
  await context.close();
  return email;
}

test("changing the password signs out every other session and keeps this one", async ({ browser }) => {
  const email = await newStaffUser(browser);
  const laptop = await browser.newContext();
  const phone = await browser.newContext();
  const a = await laptop.newPage();
  const b = await phone.newPage();
  await signIn(a, email);
  await signIn(b, email);

  await a.getByLabel("Current password").fill("not my password");
  await a.getByLabel("New password").fill("a brand new password");
  await a.getByRole("button", { name: "Change password" }).click();
  await expect(a.getByText("The current password is not correct.")).toBeVisible();

  await a.getByLabel("Current password").fill(PASSWORD);
  await a.getByLabel("New password").fill("a brand new password");
  await a.getByRole("button", { name: "Change password" }).click();
  await expect(a.getByText("Password changed. Your other sessions were signed out.")).toBeVisible();
  await a.reload();
  await expect(a.getByRole("heading", { name: "Profile" })).toBeVisible();

  // The other session ends on its very next request.
  await b.reload();
  await expect(b).toHaveURL(/\/sign-in$/);
  await signIn(b, email, "a brand new password");
  await laptop.close();
  await phone.close();
});
