import { expect, test } from "@playwright/test";
import { freshContext, inviteUser, PASSWORD, signIn } from "./support";

test("changing the password signs out every other session and keeps this one", async ({ browser }) => {
  const email = `pw-${Date.now()}@latchkey.test`;
  const invited = await inviteUser(browser, "staff", { name: "Pat Password", email });
  await invited.context.close();
  const laptop = await freshContext(browser);
  const phone = await freshContext(browser);
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
