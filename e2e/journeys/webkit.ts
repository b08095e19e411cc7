import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { Builder, type WebDriver } from "selenium-webdriver";

/**
 * WebKitGTK (Safari's engine) for the journeys: Debian's `webkit2gtk-driver` (WebKitWebDriver),
 * which starts WebKitGTK's MiniBrowser, on a virtual display (Xvfb: MiniBrowser has no headless
 * mode). One display and one driver per test worker; each test opens a session (a new browser
 * with no cookies) and closes it.
 */

/** Where Debian puts MiniBrowser (the path has the architecture in it). */
export function miniBrowserPath(): string | undefined {
  for (const lib of ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"]) {
    for (const version of ["webkit2gtk-4.1", "webkit2gtk-4.0", "webkitgtk-6.0"]) {
      const candidate = `${lib}/${version}/MiniBrowser`;
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  return undefined;
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

/** A display number no X server holds. */
function freeDisplay(): number {
  for (let display = 90 + Math.floor(Math.random() * 100); ; display++) {
    if (!fs.existsSync(`/tmp/.X11-unix/X${display}`) && !fs.existsSync(`/tmp/.X${display}-lock`)) return display;
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface WebKitService {
  open(): Promise<WebDriver>;
  close(): Promise<void>;
}

export async function startWebKit(): Promise<WebKitService> {
  const browser = miniBrowserPath();
  if (!browser) throw new Error("WebKitGTK's MiniBrowser was not found: install Debian's webkit2gtk-driver (scripts/ensure-browsers.sh)");
  const display = freeDisplay();
  const children: ChildProcess[] = [];
  const xvfb = spawn("Xvfb", [`:${display}`, "-screen", "0", "1920x1200x24", "-nolisten", "tcp"], { stdio: "ignore" });
  children.push(xvfb);
  await waitFor(() => fs.existsSync(`/tmp/.X11-unix/X${display}`), "Xvfb");
  const port = await freePort();
  const driver = spawn("WebKitWebDriver", [`--port=${port}`], { stdio: "ignore", env: { ...process.env, DISPLAY: `:${display}` } });
  children.push(driver);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    () =>
      fetch(`${url}/status`).then(
        (r) => r.ok,
        () => false,
      ),
    "WebKitWebDriver",
  );
  return {
    open: () =>
      new Builder()
        .usingServer(url)
        .withCapabilities({
          browserName: "MiniBrowser",
          "webkitgtk:browserOptions": { binary: browser, args: ["--automation"] },
        })
        .build(),
    async close() {
      for (const child of children.reverse()) {
        child.kill("SIGTERM");
        await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
      }
    },
  };
}
