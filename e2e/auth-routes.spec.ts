import { expect, test } from "@playwright/test";
import { freshContext, inviteUser, PASSWORD, signIn } from "./support";

// next-auth's routes (/api/auth/*) as an unauthenticated caller and a browser reach them, on the
// production build. Every sign-in here is a fresh person's: the stored sessions other specs use
// are never touched.

const CRAFTED = ["http://127.0.0.1:4100.evil.example/", "http://127.0.0.1:99999/", "http://[::1/", "javascript:alert(1)"];

test("a crafted callbackUrl is a 400 JSON on every route, never a 5xx", async ({ request }) => {
  for (const callbackUrl of CRAFTED) {
    for (const route of ["csrf", "session", "providers", "signin"]) {
      const response = await request.get(`/api/auth/${route}?callbackUrl=${encodeURIComponent(callbackUrl)}`, { maxRedirects: 0 });
      expect(response.status(), `${route} ${callbackUrl}`).toBe(400);
      expect(await response.json()).toMatchObject({ code: 400, param: "callbackUrl" });
    }
  }
  // Another origin is a URL: it is answered, and never where a sign-in sends the browser.
  const elsewhere = await request.get(`/api/auth/csrf?callbackUrl=${encodeURIComponent("https://evil.example/")}`);
  expect(elsewhere.status()).toBe(200);
});

test("GET of the credentials callback sends the browser to sign in (next-auth answers it with a 500)", async ({ request }) => {
  const response = await request.get("/api/auth/callback/credentials", { maxRedirects: 0 });
  expect(response.status()).toBe(303);
  expect(response.headers().location).toBe("/sign-in");
});

test("a browser whose callback cookie holds a crafted URL still signs in, and the cookie is replaced", async ({ browser, baseURL }) => {
  const email = `callback-cookie-${Date.now()}@latchkey.test`;
  const invited = await inviteUser(browser, "staff", { name: "Cora Cookie", email });
  await invited.context.close();
  const context = await freshContext(browser);
  await context.addCookies([{ name: "next-auth.callback-url", value: CRAFTED[0]!, url: baseURL! }]);
  const page = await context.newPage();
  const answers: number[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/api/auth/")) answers.push(response.status());
  });
  await signIn(page, email);
  expect(answers.length).toBeGreaterThan(0);
  expect(answers.filter((status) => status >= 500)).toEqual([]);
  const cookie = (await context.cookies()).find((candidate) => candidate.name === "next-auth.callback-url");
  expect(cookie?.value === undefined || !cookie.value.includes("evil")).toBe(true);
  await context.close();
});

test("signing in again ends the browser's earlier session; /api/auth/session names only a live one", async ({ browser }) => {
  const email = `again-${Date.now()}@latchkey.test`;
  const invited = await inviteUser(browser, "staff", { name: "Agatha Again", email });
  await invited.context.close();
  const context = await freshContext(browser);
  const page = await context.newPage();
  await signIn(page, email);
  const first = (await (await page.request.get("/api/auth/session")).json()) as { user?: { sid?: string } };
  expect(first.user?.sid).toMatch(/^[0-9a-f-]{36}$/);
  const earlierCookies = await context.cookies();
  const listed = page.getByTestId("sessions-section").getByTestId("session").filter({ visible: true });
  const before = await listed.count();

  // Sign in again from the same browser, as the sign-in form does.
  const { csrfToken } = (await (await page.request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  const again = await page.request.post("/api/auth/callback/credentials", {
    form: { csrfToken, email, password: PASSWORD, json: "true" },
  });
  expect(again.status()).toBe(200);
  const second = (await (await page.request.get("/api/auth/session")).json()) as { user?: { sid?: string } };
  expect(second.user?.sid).toMatch(/^[0-9a-f-]{36}$/);
  expect(second.user?.sid).not.toBe(first.user?.sid);
  await page.goto("/profile");
  await expect(page.getByRole("heading", { name: "Profile" })).toBeVisible();
  // The earlier session of this browser is gone: no more sessions listed than before.
  await expect(listed).toHaveCount(before);

  // The earlier cookie names an ended session: the endpoint says so ({}) and clears it.
  const replay = await freshContext(browser);
  await replay.addCookies(earlierCookies);
  const replayed = await replay.request.get("/api/auth/session");
  expect(await replayed.json()).toEqual({});
  expect(replayed.headers()["set-cookie"] ?? "").toMatch(/next-auth\.session-token=;.*Max-Age=0/);
  await replay.close();
  await context.close();
});
