/**
 * What a journey asks of a browser, whatever drives it: Playwright for Chromium and Firefox (over
 * WebDriver BiDi), a W3C WebDriver session for WebKit (WebKitGTK's MiniBrowser, through
 * WebKitWebDriver). The journeys (e2e/journeys/journeys.ts) are written once against this, so
 * each engine runs the very same steps.
 *
 * Elements are found as a person finds them: by role and accessible name, by label, by text
 * (Playwright's own locators; in WebKit, Testing Library's queries run in the page).
 */

export type Engine = "chromium" | "firefox" | "webkit";

/** Where to find an element: by role and accessible name (exact unless a RegExp), label, text or test id, inside another. */
export type Target =
  | { role: string; name?: string | RegExp; within?: Target }
  | { label: string; within?: Target }
  | { text: string | RegExp; within?: Target }
  | { testId: string; within?: Target }
  /** A table row, or a phone's card, holding an element whose whole text is this (a key's name). */
  | { rowOf: string; within?: Target };

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Driver {
  readonly engine: Engine;
  /** The narrowest window this engine can have (WebKitGTK's MiniBrowser: 447 px). */
  readonly phoneWidth: number;
  /** Opens `path` and waits until React has hydrated it (before that a click does nothing). */
  goto(path: string): Promise<void>;
  /** location.pathname, once it matches `expected` (waiting for it, as a navigation may be under way). */
  waitForPath(expected: RegExp): Promise<string>;
  /** Waits until the page's controls are React's (hydrated): a new page after a navigation. */
  waitForHydration(): Promise<void>;
  setViewport(width: number, height: number): Promise<void>;
  click(target: Target): Promise<void>;
  fill(target: Target, value: string): Promise<void>;
  /** Chooses the option labelled `option` of a select. */
  select(target: Target, option: string): Promise<void>;
  /** Presses a key on what has focus ("Tab", "Enter", "Escape", "ArrowDown", " "). */
  press(key: string): Promise<void>;
  /** Waits until `target` is visible (or, with `hidden`, until it is not), then resolves. */
  waitFor(target: Target, state?: "visible" | "hidden"): Promise<void>;
  count(target: Target): Promise<number>;
  text(target: Target): Promise<string>;
  attribute(target: Target, name: string): Promise<string | null>;
  box(target: Target): Promise<Box>;
  /** The role and accessible name of what has focus. */
  focused(): Promise<{ tag: string; name: string }>;
  /**
   * Runs `fn` in the page with `arg` and returns its JSON-able result. `fn` travels as its source
   * and must use nothing from outside itself; it never goes through eval (which the CSP forbids).
   */
  evaluate<T, A = undefined>(fn: (arg: A) => T, arg?: A): Promise<T>;
  /** Pastes the clipboard into a field of the test's own, as a person's Ctrl+V, and returns what arrived. */
  paste(): Promise<string>;
  /** Puts `text` on the clipboard as a person does: selected in a field of the test's own, then Ctrl+C. */
  copy(text: string): Promise<void>;
  /** Scrolls `target` to the top or the bottom of the window. */
  scrollTo(target: Target, where: "start" | "end"): Promise<void>;
  /** A PNG of what `target` shows. */
  elementPng(target: Target): Promise<Buffer>;
  screenshot(name: string): Promise<void>;
  /** Errors the page reported (console errors, uncaught exceptions) since the last call, then forgets them. */
  takeErrors(): Promise<string[]>;
  /** The browser's User-Agent: how its requests are told apart in the server's log. */
  userAgent(): Promise<string>;
}

/** How long a step waits for what it expects. */
export const STEP_TIMEOUT_MS = 10_000;

/** Polls `check` until it returns something other than undefined (or throws the last error after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const describeTarget = (target: Target): string => {
  const inside = target.within ? ` in ${describeTarget(target.within)}` : "";
  if ("role" in target) return `${target.role}${target.name !== undefined ? ` "${String(target.name)}"` : ""}${inside}`;
  if ("label" in target) return `the field "${target.label}"${inside}`;
  if ("text" in target) return `the text "${String(target.text)}"${inside}`;
  if ("rowOf" in target) return `the row of "${target.rowOf}"${inside}`;
  return `[data-testid=${target.testId}]${inside}`;
};

/** In the page: whether React has hydrated it (its controls carry React's props). */
export function isHydrated(): boolean {
  const control = document.querySelector("main button, main input, header button");
  return control !== null && Object.keys(control).some((key) => key.startsWith("__reactProps$"));
}

/** In the page: a field of the test's own, over everything, focused (and holding `value`, selected). */
export function scratchField(value: string): HTMLTextAreaElement {
  document.getElementById("journey-scratch")?.remove();
  const field = document.createElement("textarea");
  field.id = "journey-scratch";
  field.setAttribute("aria-label", "Journey scratch");
  field.style.cssText = "position:fixed;left:0;bottom:0;width:300px;height:40px;z-index:2147483647";
  field.value = value;
  document.body.append(field);
  field.focus();
  field.select();
  return field;
}
