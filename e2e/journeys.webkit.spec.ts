import fs from "node:fs";
import { test as base } from "@playwright/test";
import type { WebDriver } from "selenium-webdriver";
import { JOURNEYS } from "./journeys/journeys";
import { WebDriverDriver } from "./journeys/webdriver-driver";
import { startWebKit, type WebKitService } from "./journeys/webkit";

// The core journeys in WebKit (Safari's engine): WebKitGTK's MiniBrowser through WebKitWebDriver,
// which Playwright cannot drive, so each test gets a WebDriver session instead of a page.
const test = base.extend<{ session: WebDriver }, { webkit: WebKitService }>({
  webkit: [
    // (The hook rules' "use" is React's; a fixture's is Playwright's: named `provide` here.)
    async ({}, provide) => {
      const service = await startWebKit();
      await provide(service);
      await service.close();
    },
    { scope: "worker" },
  ],
  session: async ({ webkit }, provide, testInfo) => {
    const session = await webkit.open();
    await provide(session);
    // As Playwright's own screenshot on failure.
    if (testInfo.status !== testInfo.expectedStatus) {
      const screenshot = testInfo.outputPath("test-failed.png");
      fs.writeFileSync(screenshot, Buffer.from(await session.takeScreenshot(), "base64"));
      await testInfo.attach("screenshot", { path: screenshot, contentType: "image/png" });
    }
    await session.quit();
  },
});

for (const journey of JOURNEYS) {
  test(journey.name, async ({ session, baseURL }) => {
    await journey.run(new WebDriverDriver("webkit", session, baseURL!));
  });
}
