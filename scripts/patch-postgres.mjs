// Runs after `npm install` / `npm ci` (package.json "postinstall"). Patches two known faults in
// postgres.js 3.4.9's connection.js that turn a database outage into a crashed or hung server
// (upstream issues porsager/postgres#1066, #1154, #1208; fixes proposed in #1168, #1176, #1209):
//   1. nextWrite() writes to a socket the connection has already closed (socket = null): a
//      TypeError thrown from a setImmediate or 'data' callback, uncatchable, kills the process.
//      Patched: the pending write is dropped and the connection's queries are rejected with
//      CONNECTION_CLOSED, which callers already handle.
//   2. closed() cancels a scheduled write but leaves its timer set, so the next connection's
//      startup message is never scheduled and the connection waits for its connect timeout.
//      Patched: the timer and the unsent bytes are cleared with it.
// Idempotent; if the text to patch is not found (a newer postgres.js), it says so and does nothing.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MARKER = "latchkey patch (scripts/patch-postgres.mjs)";
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "postgres");

const PATCHES = [
  [
    "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n",
    "  function nextWrite(fn) {\n" +
      `    if (!socket) { // ${MARKER}: the connection closed before this write\n` +
      "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n" +
      "      chunk = nextWriteTimer = null\n" +
      "      error(Errors.connection('CONNECTION_CLOSED', options))\n" +
      "      return false\n" +
      "    }\n" +
      "    const x = socket.write(chunk, fn)\n",
  ],
  [
    "    incomings = null\n    clearImmediate(nextWriteTimer)\n",
    `    incomings = null\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null // ${MARKER}\n`,
  ],
];

let patched = 0;
for (const dir of ["src", "cjs/src", "cf/src"]) {
  const file = path.join(root, dir, "connection.js");
  if (!fs.existsSync(file)) continue;
  let text = fs.readFileSync(file, "utf8");
  if (text.includes(MARKER)) continue;
  if (!PATCHES.every(([from]) => text.split(from).length === 2)) {
    console.warn(`[patch-postgres] ${path.relative(process.cwd(), file)} is not the expected postgres.js 3.4.9 text; left as it is`);
    continue;
  }
  for (const [from, to] of PATCHES) text = text.replace(from, to);
  fs.writeFileSync(file, text);
  patched++;
}
if (patched) console.log(`[patch-postgres] patched ${patched} copies of postgres.js's connection.js`);
