import { defineConfig, devices } from "@playwright/test";

const PORT = Number(process.env.E2E_PORT ?? 3100);
export const BASE_URL = `http://127.0.0.1:${PORT}`;

// Debian's browsers (Playwright's own browser downloads are not available here): Chromium, and
// Firefox ESR over WebDriver BiDi for the cross-browser journeys (WebKit is driven through
// WebDriver by the journeys themselves: e2e/journeys/webkit.ts).
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const firefox = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
/** The journeys every engine runs (e2e/journeys/journeys.ts); Firefox and WebKit run only these. */
const JOURNEYS = /journeys\.spec\.ts$/;
const WEBKIT_JOURNEYS = /journeys\.webkit\.spec\.ts$/;

const chromiumLaunch = {
  executablePath: chromium,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
  ],
};

export default defineConfig({
  testDir: "./e2e",
  outputDir: `./test-results/e2e-${PORT}`,
  forbidOnly: Boolean(process.env.CI),
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL: BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    { name: "setup", testMatch: /auth\.setup\.ts/, use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunch } },
    {
      name: "chromium",
      dependencies: ["setup"],
      testIgnore: [/auth\.setup\.ts/, WEBKIT_JOURNEYS],
      use: { ...devices["Desktop Chrome"], launchOptions: chromiumLaunch, permissions: ["clipboard-read", "clipboard-write"] },
    },
    {
      name: "firefox",
      dependencies: ["setup"],
      testMatch: JOURNEYS,
      use: { ...devices["Desktop Firefox"], browserName: "firefox", channel: "moz-firefox", launchOptions: { executablePath: firefox } },
    },
    { name: "webkit", dependencies: ["setup"], testMatch: WEBKIT_JOURNEYS },
    // Last: the server's log of the whole run (CSP violations reported by any engine, 5xx answers).
    { name: "server-log", dependencies: ["chromium", "firefox", "webkit"], testMatch: /server-log\.check\.ts$/ },
  ],
  webServer: {
    // The production build on a fresh database of its own (see e2e/server.ts).
    command: "npx tsx e2e/server.ts",
    url: `${BASE_URL}/sign-in`,
    env: { E2E_PORT: String(PORT), ...(process.env.LATCHKEY_DIST_DIR ? { LATCHKEY_DIST_DIR: process.env.LATCHKEY_DIST_DIR } : {}) },
    reuseExistingServer: false,
    // SIGTERM, not Playwright's default SIGKILL: e2e/server.ts then drops its database and folder.
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
