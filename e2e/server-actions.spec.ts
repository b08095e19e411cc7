/**
 * Server actions attacked as the trust review did (SPEC §10), against the production build. The
 * requests go to a server of this spec's own (e2e/server.ts on a free port, a fresh database),
 * so its log can be read: each refusal is one line, and no stack trace is ever printed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { expect, test, type APIRequestContext } from "@playwright/test";

const root = path.resolve(import.meta.dirname, "..");
const distDir = path.join(root, process.env.LATCHKEY_DIST_DIR ?? ".next");

/** The id of a page's action, from the build's server-reference manifest. */
function actionIdOf(page: string, exportedName?: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(distDir, "server", "server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { workers: Record<string, unknown>; exportedName?: string }>;
  };
  const found = Object.entries(manifest.node).find(
    ([, entry]) =>
      Object.keys(entry.workers).some((worker) => worker.includes(page)) && (!exportedName || entry.exportedName === exportedName),
  );
  if (!found) throw new Error(`no server action ${exportedName ?? ""} for ${page} in the build`);
  return found[0];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

let child: ChildProcess | undefined;
let output = "";
let base = "";
let actionId = "";
/** Profile's "Sign out other sessions": a typed action, `(input)` with one object. */
let typedActionId = "";

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  actionId = actionIdOf("setup/page");
  typedActionId = actionIdOf("profile/page", "endOtherSessionsAction");
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ["--import", "tsx", "e2e/server.ts"], {
    cwd: root,
    env: { ...process.env, E2E_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`);
    const up = await fetch(`${base}/sign-in`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the server did not start:\n${output}`);
});

test.afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child!.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
});

/** The server's log since `mark` (an offset into it). */
const logSince = (mark: number) => output.slice(mark);

/** A multipart body in this order (an object would put "0" first: integer keys lead). */
function form(fields: [string, string][]): FormData {
  const data = new FormData();
  for (const [name, value] of fields) data.append(name, value);
  return data;
}

async function post(
  request: APIRequestContext,
  options: { headers?: Record<string, string>; data?: string | Buffer; multipart?: FormData; page?: string; id?: string },
) {
  const response = await request.post(`${base}${options.page ?? "/setup"}`, {
    headers: { "Next-Action": options.id ?? actionId, Origin: base, ...options.headers },
    data: options.data,
    multipart: options.multipart,
    failOnStatusCode: false,
  });
  return { status: response.status(), text: await response.text() };
}

function expectRefusalLines(log: string, count: number) {
  const lines = log.split("\n").filter((line) => line.trim());
  expect(lines.filter((line) => line.startsWith("[latchkey] server action refused:"))).toHaveLength(count);
  expect(lines).toHaveLength(count);
  expect(log).not.toMatch(/^\s+at /m);
  expect(log).not.toMatch(/Error|Invalid Server Actions request/);
}

test("a well-formed action call still runs: the Setup action answers with its field errors", async ({ request }) => {
  const mark = output.length;
  // As React sends it: the form's fields first, then the argument list in field "0".
  const fields: [string, string][] = [
    ["_1_name", "evil\u202egnp.exe"],
    ["_1_email", "not an email"],
    ["_1_password", "short"],
    ["0", '[null,"$K1"]'],
  ];
  const result = await post(request, { multipart: form(fields) });
  expect(result.status).toBe(200);
  expect(result.text).toContain("cannot contain invisible or direction-changing characters");
  expect(result.text).toContain("Enter a valid email address.");
  expect(logSince(mark)).toBe("");
});

test("a typed call (one object, a text body) reaches its action, whose wrapper checks it", async ({ request }) => {
  const mark = output.length;
  const text = { "Content-Type": "text/plain;charset=UTF-8" };
  const typed = (data: string | FormData, id = typedActionId) =>
    post(request, { page: "/profile", id, ...(typeof data === "string" ? { headers: text, data } : { multipart: data }) });
  // As React sends `endOtherSessionsAction({})`: the guard lets it through, and the wrapper answers
  // that nobody is signed in (this request has no session cookie).
  const signedOut = await typed("[{}]");
  expect(signedOut.status).toBe(200);
  expect(signedOut.text).toContain("Your session has ended. Sign in again.");
  // The shape the other kind of action takes gets through the guard but not the wrapper.
  const formToTyped = await typed(form([["0", '[null,"$K1"]']]));
  expect(formToTyped.status).toBe(200);
  expect(formToTyped.text).toContain("Bad request: this action was called with arguments it does not take.");
  const objectToForm = await post(request, {
    headers: text,
    data: JSON.stringify([{ name: "Owner", email: "owner@example.test", password: "long enough 1" }]),
  });
  expect(objectToForm.status).toBe(200);
  expect(objectToForm.text).toContain("Bad request: this action was called with arguments it does not take.");
  expect(logSince(mark)).toBe("");
  // Setup was not run by the object: the page still offers it.
  expect(await (await request.get(`${base}/setup`)).text()).toContain("Create the owner account");
});

test("malformed bodies get 400 and one log line each, never a 500 or a stack", async ({ request }) => {
  const mark = output.length;
  const text = { "Content-Type": "text/plain;charset=UTF-8" };
  for (const body of ["[]", "{}", "[null,null]", "[{},{}]", '[{"id":"$1"}]', '[{"id":"$@1"}]']) {
    expect(await post(request, { headers: text, data: body })).toMatchObject({ status: 400, text: expect.stringMatching(/^Bad request/) });
  }
  for (const zero of ["[]", "{}", "[null,null]", '["$1","$K1"]']) {
    expect((await post(request, { multipart: form([["0", zero]]) })).status).toBe(400);
  }
  // A form posted without JavaScript that calls the action with the form alone.
  const noJs = await request.post(`${base}/setup`, {
    headers: { Origin: base },
    multipart: form([
      [`$ACTION_ID_${actionId}`, ""],
      ["name", "x"],
    ]),
    failOnStatusCode: false,
  });
  expect(noJs.status()).toBe(400);
  // A multipart post that names no action at all.
  const plain = await request.post(`${base}/setup`, {
    headers: { Origin: base },
    multipart: form([["name", "x"]]),
    failOnStatusCode: false,
  });
  expect(plain.status()).toBe(400);
  expectRefusalLines(logSince(mark), 12);
});

test("an action id the build does not have gets Next.js's answer (409, or 400 when malformed), one log line each", async ({ request }) => {
  const mark = output.length;
  const call = form([
    ["_1_name", "x"],
    ["0", '[null,"$K1"]'],
  ]);
  const unknown = await request.post(`${base}/setup`, {
    headers: { "Next-Action": "7f" + "0".repeat(40), Origin: base },
    multipart: call,
    failOnStatusCode: false,
  });
  expect(unknown.status()).toBe(409);
  expect(unknown.headers()["x-nextjs-action-not-found"]).toBe("1");
  const malformed = await request.post(`${base}/setup`, {
    headers: { "Next-Action": "zzz", Origin: base },
    multipart: call,
    failOnStatusCode: false,
  });
  expect(malformed.status()).toBe(400);
  expectRefusalLines(logSince(mark), 2);
});

test("a 3 MB body gets 413 with Connection: close", async ({ request }) => {
  const mark = output.length;
  const response = await request.post(`${base}/setup`, {
    headers: { "Next-Action": actionId, Origin: base, "Content-Type": "text/plain;charset=UTF-8" },
    data: Buffer.alloc(3 * 1024 * 1024, "a"),
    failOnStatusCode: false,
  });
  expect(response.status()).toBe(413);
  expect(response.headers()["connection"]).toBe("close");
  expectRefusalLines(logSince(mark), 1);
});

test("cross-origin action posts get 403", async ({ request }) => {
  const mark = output.length;
  for (const origin of ["http://evil.test", "null"]) {
    const result = await post(request, {
      headers: { Origin: origin },
      multipart: form([
        ["_1_name", "x"],
        ["0", '[null,"$K1"]'],
      ]),
    });
    expect(result.status).toBe(403);
  }
  expectRefusalLines(logSince(mark), 2);
});
