/**
 * `npx tsx scripts/generate-icons.ts`: the app's icons, drawn from app/icon.svg (the one source):
 * the favicon (16, 32 and 48 px in one .ico), the home-screen icon iOS asks for
 * (app/apple-icon.png, 180 px) and the web manifest's (public/icons, 192 and 512 px). Rendered by
 * the Chromium the end-to-end tests use; the results are committed, so nothing renders at build
 * or run time. Run it again after changing the SVG.
 */
import fs from "node:fs";
import path from "node:path";
import { chromium } from "@playwright/test";

const root = path.resolve(import.meta.dirname, "..");
const svg = fs.readFileSync(path.join(root, "app", "icon.svg"), "utf8");

async function render(size: number): Promise<Buffer> {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(
    `<html><body style="margin:0;background:transparent">` +
      `<img src="data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}" ` +
      `width="${size}" height="${size}" style="display:block">` +
      `</body></html>`,
  );
  const png = await page.screenshot({ omitBackground: true, type: "png" });
  await page.close();
  return png;
}

/** An .ico holding PNG images (every browser since IE Vista reads them): a header, one entry per image, the images. */
function ico(images: { size: number; png: Buffer }[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, png }) => {
    const entry = Buffer.alloc(16);
    entry.writeUInt8(size >= 256 ? 0 : size, 0);
    entry.writeUInt8(size >= 256 ? 0 : size, 1);
    entry.writeUInt8(0, 2); // no palette
    entry.writeUInt8(0, 3);
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(png.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += png.length;
    return entry;
  });
  return Buffer.concat([header, ...entries, ...images.map((image) => image.png)]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const favicon = await Promise.all([16, 32, 48].map(async (size) => ({ size, png: await render(size) })));
  fs.writeFileSync(path.join(root, "app", "favicon.ico"), ico(favicon));
  fs.writeFileSync(path.join(root, "app", "apple-icon.png"), await render(180));
  fs.mkdirSync(path.join(root, "public", "icons"), { recursive: true });
  for (const size of [192, 512]) fs.writeFileSync(path.join(root, "public", "icons", `icon-${size}.png`), await render(size));
  console.log("[icons] app/favicon.ico, app/apple-icon.png, public/icons/icon-192.png and icon-512.png written");
} finally {
  await browser.close();
}
