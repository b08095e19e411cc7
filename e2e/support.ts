import path from "node:path";
import { expect, type Page } from "@playwright/test";

export type E2ERole = "owner" | "admin" | "staff" | "read_only" | "lite";

export const PASSWORD = "e2e password 123";

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
export const storageStateOf = (role: E2ERole) =>
  path.join(import.meta.dirname, ".auth", process.env.E2E_PORT ?? "3100", `${role}.json`);

export const SCREENSHOTS = path.join(import.meta.dirname, "..", "docs", "screenshots");

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/profile$/);
}
