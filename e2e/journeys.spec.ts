import { test } from "@playwright/test";
import { JOURNEYS } from "./journeys/journeys";
import { PlaywrightDriver } from "./journeys/playwright-driver";

// The core journeys in Chromium and Firefox (the `chromium` and `firefox` projects); WebKit runs the
// same ones through WebDriver (journeys.webkit.spec.ts).
for (const journey of JOURNEYS) {
  test(journey.name, async ({ page, browserName }) => {
    await journey.run(new PlaywrightDriver(browserName === "firefox" ? "firefox" : "chromium", page));
  });
}
