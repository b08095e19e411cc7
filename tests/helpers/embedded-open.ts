/**
 * A second opener of an embedded data folder, run as its own process by
 * tests/integration/embedded.test.ts (also inside its own PID namespace):
 * `tsx tests/helpers/embedded-open.ts <dir>` opens the folder, prints "opened", closes it and
 * exits 0; a folder in use prints the refusal and exits 3.
 */
import { DataDirInUseError, startEmbeddedDatabase } from "../../db/embedded";

const dir = process.argv[2];
if (!dir) throw new Error("usage: embedded-open.ts <dir>");
try {
  const embedded = await startEmbeddedDatabase(dir);
  console.log("opened");
  await embedded.stop();
} catch (error) {
  if (error instanceof DataDirInUseError) {
    console.log(error.message);
    process.exit(3);
  }
  throw error;
}
