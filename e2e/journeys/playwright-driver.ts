import path from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";
import { SCREENSHOTS } from "../support";
import { isHydrated, scratchField, STEP_TIMEOUT_MS, type Driver, type Engine, type Target } from "./driver";

/** Chromium and Firefox, through Playwright: its own locators, events and keyboard. */
export class PlaywrightDriver implements Driver {
  readonly phoneWidth = 390;
  private errors: string[] = [];

  constructor(
    readonly engine: Engine,
    private readonly page: Page,
  ) {
    page.on("console", (message) => {
      if (message.type() === "error") this.errors.push(`console: ${message.text()}`);
    });
    page.on("pageerror", (error) => this.errors.push(`uncaught: ${error.message}`));
  }

  private locate(target: Target): Locator {
    const scope: Page | Locator = target.within ? this.locate(target.within) : this.page;
    if ("role" in target) {
      return scope.getByRole(
        target.role as Parameters<Page["getByRole"]>[0],
        target.name === undefined ? {} : { name: target.name, exact: true },
      );
    }
    if ("label" in target) return scope.getByLabel(target.label, { exact: true });
    if ("text" in target) return scope.getByText(target.text);
    if ("rowOf" in target) {
      const has = { has: this.page.getByText(target.rowOf, { exact: true }) };
      return scope.getByRole("row").filter(has).or(scope.getByTestId("data-card").filter(has));
    }
    return scope.getByTestId(target.testId);
  }

  /** The one visible element `target` names (a table and its phone cards both render; one shows). */
  private one(target: Target): Locator {
    return this.locate(target).filter({ visible: true }).first();
  }

  async goto(where: string): Promise<void> {
    await this.page.goto(where);
    await this.waitForHydration();
  }

  async waitForPath(expected: RegExp): Promise<string> {
    await expect(this.page).toHaveURL((url) => expected.test(url.pathname), { timeout: STEP_TIMEOUT_MS });
    return new URL(this.page.url()).pathname;
  }

  async waitForHydration(): Promise<void> {
    await expect.poll(() => this.page.evaluate(isHydrated), { timeout: STEP_TIMEOUT_MS }).toBe(true);
  }

  async setViewport(width: number, height: number): Promise<void> {
    await this.page.setViewportSize({ width, height });
  }

  async click(target: Target): Promise<void> {
    await this.one(target).click({ timeout: STEP_TIMEOUT_MS });
  }

  /**
   * Typed key by key, as a person types (and as WebDriver does): Playwright's fill() in Firefox
   * sets the value from a script, which a React-controlled field (the search box) never hears of.
   */
  async fill(target: Target, value: string): Promise<void> {
    const field = this.one(target);
    await field.fill("", { timeout: STEP_TIMEOUT_MS });
    await field.pressSequentially(value, { timeout: STEP_TIMEOUT_MS });
  }

  async select(target: Target, option: string): Promise<void> {
    await this.one(target).selectOption({ label: option }, { timeout: STEP_TIMEOUT_MS });
  }

  async press(key: string): Promise<void> {
    await this.page.keyboard.press(key === " " ? "Space" : key);
  }

  async waitFor(target: Target, state: "visible" | "hidden" = "visible"): Promise<void> {
    if (state === "visible") await expect(this.one(target)).toBeVisible({ timeout: STEP_TIMEOUT_MS });
    else await expect(this.locate(target).filter({ visible: true })).toHaveCount(0, { timeout: STEP_TIMEOUT_MS });
  }

  async count(target: Target): Promise<number> {
    return this.locate(target).filter({ visible: true }).count();
  }

  async text(target: Target): Promise<string> {
    return ((await this.one(target).textContent({ timeout: STEP_TIMEOUT_MS })) ?? "").trim();
  }

  async attribute(target: Target, name: string): Promise<string | null> {
    return this.one(target).getAttribute(name, { timeout: STEP_TIMEOUT_MS });
  }

  async box(target: Target) {
    const found = await this.one(target).boundingBox({ timeout: STEP_TIMEOUT_MS });
    if (!found) throw new Error("no box: not visible");
    return found;
  }

  async focused(): Promise<{ tag: string; name: string }> {
    return this.page.evaluate(() => {
      const element = document.activeElement as HTMLElement | null;
      const name = element?.getAttribute("aria-label") ?? element?.textContent?.trim() ?? "";
      const label = element?.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent?.trim() : undefined;
      return { tag: element?.tagName.toLowerCase() ?? "", name: label ?? name };
    });
  }

  async evaluate<T, A = undefined>(fn: (arg: A) => T, arg?: A): Promise<T> {
    return (await this.page.evaluate(fn as (arg: unknown) => unknown, arg)) as T;
  }

  async paste(): Promise<string> {
    await this.page.evaluate(scratchField, "");
    await this.page.keyboard.press("ControlOrMeta+V");
    const pasted = await this.page.locator("#journey-scratch").inputValue();
    await this.page.evaluate(() => document.getElementById("journey-scratch")?.remove());
    return pasted;
  }

  async copy(text: string): Promise<void> {
    await this.page.evaluate(scratchField, text);
    await this.page.keyboard.press("ControlOrMeta+C");
    await this.page.evaluate(() => document.getElementById("journey-scratch")?.remove());
  }

  async scrollTo(target: Target, where: "start" | "end"): Promise<void> {
    await this.one(target).evaluate((element, block) => element.scrollIntoView({ block }), where);
  }

  async elementPng(target: Target): Promise<Buffer> {
    return this.one(target).screenshot();
  }

  async screenshot(name: string): Promise<void> {
    await this.page.screenshot({ path: path.join(SCREENSHOTS, `${this.engine}-${name}.png`), fullPage: true });
  }

  async takeErrors(): Promise<string[]> {
    const errors = this.errors;
    this.errors = [];
    return errors;
  }

  async userAgent(): Promise<string> {
    return this.page.evaluate(() => navigator.userAgent);
  }
}
