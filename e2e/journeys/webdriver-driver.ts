import fs from "node:fs";
import path from "node:path";
import { Key, type WebDriver, type WebElement } from "selenium-webdriver";
import { buildSync } from "esbuild";
import { PNG } from "pngjs";
import { SCREENSHOTS } from "../support";
import { describeTarget, eventually, isHydrated, scratchField, type Box, type Driver, type Engine, type Target } from "./driver";

/**
 * Testing Library's DOM queries, bundled for the page: WebDriver finds elements by CSS or XPath
 * only, and a journey finds them by role and accessible name, as Playwright does. Injected into
 * each page before its first query (WebDriver's scripts are not the page's: its CSP does not apply).
 */
const QUERIES = buildSync({
  stdin: { contents: 'export * from "@testing-library/dom";', resolveDir: path.resolve(import.meta.dirname, "..", "..") },
  bundle: true,
  format: "iife",
  globalName: "__journeyQueries",
  platform: "browser",
  write: false,
  minify: true,
  define: { "process.env.DEBUG_PRINT_LIMIT": "undefined", "process.env.COLORS": "undefined", "process.env": "{}" },
}).outputFiles[0]!.text;

/** A target as it travels to the page: a RegExp as its source and flags. */
type Wire = Record<string, unknown>;
function toWire(target: Target): Wire {
  const wire: Wire = { ...target };
  for (const field of ["name", "text"] as const) {
    const value = (target as Record<string, unknown>)[field];
    if (value instanceof RegExp) wire[field] = { source: value.source, flags: value.flags };
  }
  if (target.within) wire.within = toWire(target.within);
  return wire;
}

/** In the page: every visible element `spec` names (Testing Library's queries; `rowOf` as the journeys mean it). */
function findInPage(spec: Wire): Element[] {
  type Q = typeof import("@testing-library/dom");
  const queries = (window as unknown as { __journeyQueries: Q }).__journeyQueries;
  const matcher = (value: unknown) =>
    value && typeof value === "object" ? new RegExp((value as { source: string }).source, (value as { flags: string }).flags) : value;
  const visible = (element: Element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== "hidden";
  // As Playwright's getByText: an element whose whole text (its descendants' included, spaces
  // collapsed) is the string, or matches the RegExp; the innermost such element.
  const byText = (root: Element, wanted: string | RegExp): Element[] => {
    const matches = (element: Element) => {
      const text = (element.textContent ?? "").replace(/\s+/g, " ").trim();
      return typeof wanted === "string" ? text === wanted : wanted.test(text);
    };
    return [...root.querySelectorAll("*")].filter(
      (element) => !["SCRIPT", "STYLE"].includes(element.tagName) && matches(element) && ![...element.children].some(matches),
    );
  };
  const find = (wire: Wire, root: Element): Element[] => {
    const scopes = wire.within ? find(wire.within as Wire, root) : [root];
    const found: Element[] = [];
    for (const scope of scopes) {
      const inside = scope as HTMLElement;
      if (wire.role) {
        const options = wire.name === undefined ? {} : { name: matcher(wire.name) as string | RegExp };
        found.push(...queries.queryAllByRole(inside, wire.role as string, options));
      } else if (wire.label) found.push(...queries.queryAllByLabelText(inside, wire.label as string, { exact: true }));
      else if (wire.text !== undefined) found.push(...byText(inside, matcher(wire.text) as string | RegExp));
      else if (wire.testId) found.push(...queries.queryAllByTestId(inside, wire.testId as string));
      else if (wire.rowOf) {
        for (const candidate of inside.querySelectorAll('tr, [data-testid="data-card"]')) {
          if (byText(candidate, wire.rowOf as string).length) found.push(candidate);
        }
      }
    }
    return found.filter(visible);
  };
  return find(spec, document.body);
}

const KEYS: Record<string, string> = {
  Tab: Key.TAB,
  Enter: Key.ENTER,
  Escape: Key.ESCAPE,
  ArrowDown: Key.ARROW_DOWN,
  ArrowUp: Key.ARROW_UP,
  " ": Key.SPACE,
  Backspace: Key.BACK_SPACE,
};

/** Collects the page's errors (uncaught, rejected, console.error) from the moment it is installed. */
function installErrorCollector(): void {
  const w = window as unknown as { __journeyErrors?: string[] };
  if (w.__journeyErrors) return;
  const errors: string[] = [];
  w.__journeyErrors = errors;
  addEventListener("error", (event) => errors.push(`uncaught: ${event.message}`));
  addEventListener("unhandledrejection", (event) => errors.push(`rejected: ${String(event.reason)}`));
  const original = console.error.bind(console);
  console.error = (...args: unknown[]) => {
    errors.push(`console: ${args.map(String).join(" ")}`);
    original(...args);
  };
}

/**
 * WebKit (WebKitGTK's MiniBrowser), through a W3C WebDriver session on WebKitWebDriver. Clicks and
 * keys are WebDriver's own input (trusted, as a person's); queries run in the page.
 */
export class WebDriverDriver implements Driver {
  readonly phoneWidth = 447;

  constructor(
    readonly engine: Engine,
    private readonly driver: WebDriver,
    private readonly baseUrl: string,
  ) {}

  /** Runs Testing Library's queries in the page (injecting them first when the page is new). */
  private async findAll(target: Target): Promise<WebElement[]> {
    return (await this.driver.executeScript(
      `if (!window.__journeyQueries) { ${QUERIES}; window.__journeyQueries = __journeyQueries; }
       ${installErrorCollector.toString()}; installErrorCollector();
       return (${findInPage.toString()})(arguments[0]);`,
      toWire(target),
    )) as WebElement[];
  }

  private one(target: Target): Promise<WebElement> {
    return eventually(async () => (await this.findAll(target))[0], `find ${describeTarget(target)}`);
  }

  async goto(where: string): Promise<void> {
    await this.driver.get(new URL(where, this.baseUrl).href);
    await this.waitForHydration();
  }

  async waitForPath(expected: RegExp): Promise<string> {
    return eventually(async () => {
      const pathname = (await this.driver.executeScript("return location.pathname")) as string;
      return expected.test(pathname) ? pathname : undefined;
    }, `the address to match ${expected}`);
  }

  async waitForHydration(): Promise<void> {
    await eventually(
      async () => ((await this.driver.executeScript(`return (${isHydrated.toString()})()`)) ? true : undefined),
      "the page to hydrate",
    );
  }

  async setViewport(width: number, height: number): Promise<void> {
    await this.driver.manage().window().setRect({ width, height });
  }

  async click(target: Target): Promise<void> {
    const element = await this.one(target);
    await this.driver.executeScript("arguments[0].scrollIntoView({ block: 'center', inline: 'nearest' })", element);
    await element.click();
  }

  async fill(target: Target, value: string): Promise<void> {
    const element = await this.one(target);
    // Emptied, then typed key by key: the typing's input events are what React listens to.
    await element.clear();
    await element.sendKeys(value);
  }

  async select(target: Target, option: string): Promise<void> {
    const element = await this.one(target);
    const options = (await this.driver.executeScript(
      "return [...arguments[0].options].filter((o) => o.textContent.trim() === arguments[1])",
      element,
      option,
    )) as WebElement[];
    if (!options[0]) throw new Error(`no option "${option}" in ${describeTarget(target)}`);
    await options[0].click();
  }

  async press(key: string): Promise<void> {
    await this.driver
      .actions()
      .sendKeys(KEYS[key] ?? key)
      .perform();
  }

  async waitFor(target: Target, state: "visible" | "hidden" = "visible"): Promise<void> {
    await eventually(
      async () => ((await this.findAll(target)).length > 0 === (state === "visible") ? true : undefined),
      `${describeTarget(target)} to be ${state}`,
    );
  }

  async count(target: Target): Promise<number> {
    return (await this.findAll(target)).length;
  }

  async text(target: Target): Promise<string> {
    const element = await this.one(target);
    return ((await this.driver.executeScript("return arguments[0].textContent", element)) as string).trim();
  }

  async attribute(target: Target, name: string): Promise<string | null> {
    return (await this.one(target)).getAttribute(name);
  }

  async box(target: Target) {
    const element = await this.one(target);
    return (await this.driver.executeScript(
      "const r = arguments[0].getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }",
      element,
    )) as { x: number; y: number; width: number; height: number };
  }

  async focused(): Promise<{ tag: string; name: string }> {
    return (await this.driver.executeScript(`
      const element = document.activeElement;
      const label = element && element.id ? document.querySelector('label[for="' + element.id + '"]') : null;
      return {
        tag: element ? element.tagName.toLowerCase() : "",
        name: label ? label.textContent.trim() : (element && (element.getAttribute("aria-label") || element.textContent.trim())) || "",
      };`)) as { tag: string; name: string };
  }

  async evaluate<T, A = undefined>(fn: (arg: A) => T, arg?: A): Promise<T> {
    return (await this.driver.executeScript(`return (${fn.toString()})(arguments[0])`, arg)) as T;
  }

  async paste(): Promise<string> {
    const field = (await this.driver.executeScript(`return (${scratchField.toString()})("")`)) as WebElement;
    await this.driver.actions().keyDown(Key.CONTROL).sendKeys("v").keyUp(Key.CONTROL).perform();
    const pasted = (await this.driver.executeScript("return arguments[0].value", field)) as string;
    await this.driver.executeScript("arguments[0].remove()", field);
    return pasted;
  }

  async copy(text: string): Promise<void> {
    const field = (await this.driver.executeScript(`return (${scratchField.toString()})(arguments[0])`, text)) as WebElement;
    await this.driver.actions().keyDown(Key.CONTROL).sendKeys("c").keyUp(Key.CONTROL).perform();
    await this.driver.executeScript("arguments[0].remove()", field);
  }

  async scrollTo(target: Target, where: "start" | "end"): Promise<void> {
    await this.driver.executeScript("arguments[0].scrollIntoView({ block: arguments[1] })", await this.one(target), where);
  }

  /**
   * Cut from a screenshot of the window: WebKitWebDriver's own element screenshot draws an SVG
   * (the QR code) as a black square.
   */
  async elementPng(target: Target): Promise<Buffer> {
    const element = await this.one(target);
    await this.driver.executeScript("arguments[0].scrollIntoView({ block: 'center' })", element);
    const { x, y, width, height, scale } = (await this.driver.executeScript(
      "const r = arguments[0].getBoundingClientRect();" +
        "return { x: r.x, y: r.y, width: r.width, height: r.height, scale: devicePixelRatio }",
      element,
    )) as Box & { scale: number };
    const whole = PNG.sync.read(Buffer.from(await this.driver.takeScreenshot(), "base64"));
    const [left, top] = [Math.max(0, Math.round(x * scale)), Math.max(0, Math.round(y * scale))];
    const cut = new PNG({
      width: Math.min(Math.round(width * scale), whole.width - left),
      height: Math.min(Math.round(height * scale), whole.height - top),
    });
    PNG.bitblt(whole, cut, left, top, cut.width, cut.height, 0, 0);
    return PNG.sync.write(cut);
  }

  async screenshot(name: string): Promise<void> {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    fs.writeFileSync(path.join(SCREENSHOTS, `${this.engine}-${name}.png`), Buffer.from(await this.driver.takeScreenshot(), "base64"));
  }

  async takeErrors(): Promise<string[]> {
    return (await this.driver.executeScript(`
      const errors = window.__journeyErrors ? window.__journeyErrors.splice(0) : [];
      return errors;`)) as string[];
  }

  async userAgent(): Promise<string> {
    return (await this.driver.executeScript("return navigator.userAgent")) as string;
  }
}
