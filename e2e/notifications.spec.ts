import { expect, test, type Page } from "@playwright/test";
import { addKeyOnProfile, expectNoAxeViolations, inviteUser, rowOf, screenshot, storageStateOf } from "./support";

/**
 * Notifications (SPEC §11), as people meet them: an admin disables someone's key in the API
 * Access Manager, and its holder sees the count on the header's Notifications button, reads the
 * notice and marks it read; a second notice, then Mark all as read. A throwaway Staff user of
 * this spec's own, so no other spec's notices are counted.
 */

const stamp = Date.now().toString(36);

async function adminAct(page: Page, keyName: string, item: "Disable" | "Delete"): Promise<void> {
  await page.goto("/admin/api-access");
  await page.getByLabel("Search", { exact: true }).fill(keyName);
  await expect(page.getByText("of 1 key")).toBeVisible();
  await rowOf(page, keyName).getByRole("button", { name: "Settings" }).click();
  await page.getByRole("menuitem", { name: item }).click();
  if (item === "Delete") {
    await page.getByRole("dialog", { name: "Delete API key?" }).getByRole("button", { name: "Delete" }).click();
    await expect(page.getByText(`API key "${keyName}" deleted.`)).toBeVisible();
  } else {
    await expect(page.getByText(`API key "${keyName}" disabled.`)).toBeVisible();
  }
}

test("a key an admin disabled shows up in its holder's Notifications; read one, then all", async ({ browser }) => {
  test.slow();
  const holderName = `Nia Notified ${stamp}`;
  const { context: holderContext, page: holder } = await inviteUser(browser, "staff", {
    name: holderName,
    email: `nia.${stamp}@latchkey.test`,
  });
  const deployKey = `${stamp} deploy`;
  const reportKey = `${stamp} reports`;
  await addKeyOnProfile(holder, deployKey);
  await addKeyOnProfile(holder, reportKey);

  // Nothing yet: the button has no count, the list says so.
  const bell = holder.getByRole("banner").getByRole("button", { name: /^Notifications/ });
  await expect(bell).toHaveAccessibleName("Notifications");
  await bell.click();
  const list = holder.getByRole("dialog", { name: "Notifications" });
  await expect(list.getByText("No notifications yet.")).toBeVisible();
  await holder.keyboard.press("Escape");
  await expect(list).toBeHidden();
  await expect(bell).toBeFocused();

  const adminContext = await browser.newContext({ storageState: storageStateOf("admin") });
  const admin = await adminContext.newPage();
  await adminAct(admin, deployKey, "Disable");

  // The holder's next page shows the count and the notice, worded plainly.
  await holder.goto("/profile");
  await expect(bell).toHaveAccessibleName("Notifications, 1 unread");
  await bell.click();
  const notice = list.getByRole("listitem").filter({ hasText: `Your API key "${deployKey}" was disabled by an admin` });
  await expect(notice).toBeVisible();
  await expect(notice.getByText("Adam Admin disabled it in the API Access Manager")).toBeVisible();
  await expect(notice.getByText("Unread:")).toBeAttached();
  await expectNoAxeViolations(holder);
  await screenshot(holder, "notifications-list");

  await notice.getByRole("button", { name: "Mark as read" }).click();
  await expect(bell).toHaveAccessibleName("Notifications");
  await expect(notice.getByText("Read", { exact: true })).toBeVisible();
  await expect(notice.getByRole("button", { name: "Mark as read" })).toHaveCount(0);
  // Still read after a reload (it is the database's, not the page's).
  await holder.reload();
  await expect(bell).toHaveAccessibleName("Notifications");

  // A second notice (the admin deletes the other key), then Mark all as read.
  await adminAct(admin, reportKey, "Delete");
  await holder.goto("/profile");
  await expect(bell).toHaveAccessibleName("Notifications, 1 unread");
  await bell.click();
  await expect(list.getByRole("listitem")).toHaveCount(2);
  await expect(list.getByRole("listitem").first()).toContainText(`Your API key "${reportKey}" was deleted by an admin`);

  // On a phone the list fits the screen.
  await holder.setViewportSize({ width: 390, height: 844 });
  await expect(list).toBeVisible();
  const box = (await list.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  await expectNoAxeViolations(holder);
  await screenshot(holder, "notifications-list-phone");

  await list.getByRole("button", { name: "Mark all as read" }).click();
  await expect(bell).toHaveAccessibleName("Notifications");
  await expect(list.getByRole("button", { name: "Mark as read" })).toHaveCount(0);
  await expect(list.getByRole("button", { name: "Mark all as read" })).toHaveCount(0);

  // The admin's own list holds none of this (a person sees only their own notices).
  await admin.goto("/profile");
  await admin
    .getByRole("banner")
    .getByRole("button", { name: /^Notifications/ })
    .click();
  await expect(admin.getByRole("dialog", { name: "Notifications" }).getByText(deployKey)).toHaveCount(0);

  await adminContext.close();
  await holderContext.close();
});
