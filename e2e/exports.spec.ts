import { readFile } from "node:fs/promises";
import { expect, test, type Page } from "@playwright/test";
import { addKeyOnProfile, expectNoAxeViolations, screenshot, storageStateOf } from "./support";

/**
 * Export CSV (SPEC §13) as an Admin uses it: the Access Manager and the Audit log each download a
 * CSV of what their filters show, named by the day; anyone else gets the pages' 404.
 */

const stamp = Date.now().toString(36);
test.use({ storageState: storageStateOf("admin") });

/** Clicks Export CSV and reads the file the browser saved: its name and its records. */
async function exportCsv(page: Page): Promise<{ filename: string; records: string[] }> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  const text = await readFile((await download.path())!, "utf8");
  expect(text.endsWith("\r\n")).toBe(true);
  return { filename: download.suggestedFilename(), records: text.slice(0, -2).split("\r\n") };
}

const today = () => new Date().toISOString().slice(0, 10);

test("the Access Manager exports the keys its search and filters show", async ({ page }) => {
  const name = `=export ${stamp}, checked`;
  await addKeyOnProfile(page, name);
  await addKeyOnProfile(page, `other ${stamp}`);
  await page.goto(`/admin/api-access?q=${encodeURIComponent(`export ${stamp}`)}`);
  await expect(page.getByRole("heading", { name: "API Access Manager" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Export CSV" })).toBeVisible();
  await screenshot(page, "access-manager-export");
  await expectNoAxeViolations(page);

  const { filename, records } = await exportCsv(page);
  expect(filename).toBe(`latchkey-api-keys-${today()}.csv`);
  expect(records[0]).toBe(
    "id,name,description,masked_key,access_level,status,state,user_id,user_name,user_email,user_role,user_type,created_at," +
      "expires_at,last_used_at,last_used_ip,previous_secret_expires_at,disabled_by_admin,disabled_reason,over_policy",
  );
  // Only the searched key; its name quoted (a comma) and guarded (it starts with =).
  expect(records).toHaveLength(2);
  // No description; the masked key, as its holder sees it.
  expect(records[1]).toContain(`"'${name}",,lk_`);
  expect(records[1]).toMatch(/,lk_\w{4}•{8}\w{4},read_only,active,active,/);
  expect(records[1]).toContain(",admin,person,");

  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole("link", { name: "Export CSV" })).toBeVisible();
  await screenshot(page, "access-manager-export-phone");
});

test("the Audit log exports the entries its filters show", async ({ page }) => {
  const name = `audited ${stamp}`;
  await addKeyOnProfile(page, name);
  await page.goto(`/admin/audit-log?action=api_key.created&target=${encodeURIComponent(name)}`);
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await screenshot(page, "audit-log-export");
  await expectNoAxeViolations(page);

  const { filename, records } = await exportCsv(page);
  expect(filename).toBe(`latchkey-audit-log-${today()}.csv`);
  expect(records[0]).toBe("id,created_at,actor,action,target_type,target_id,target_label,ip,metadata");
  expect(records).toHaveLength(2);
  expect(records[1]).toMatch(new RegExp(`,api_key\\.created,api_key,[0-9a-f-]{36},${name},`));

  // The export itself is in the log now, with its filters.
  await page.goto("/admin/audit-log?action=export.audit_log");
  await expect(
    page
      .getByRole("cell")
      .filter({ hasText: `"target":"${name}"` })
      .first(),
  ).toBeVisible();

  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole("link", { name: "Export CSV" })).toBeVisible();
  await screenshot(page, "audit-log-export-phone");
});

test.describe("as Staff", () => {
  test.use({ storageState: storageStateOf("staff") });
  test("both exports are the pages' 404", async ({ page }) => {
    for (const path of ["/admin/api-access/export", "/admin/audit-log/export"]) {
      const response = await page.request.get(path, { maxRedirects: 0 });
      expect(response.status(), path).toBe(404);
      expect(response.headers()["content-disposition"], path).toBeUndefined();
      expect(await response.text(), path).not.toMatch(/^id,/);
    }
  });
});
