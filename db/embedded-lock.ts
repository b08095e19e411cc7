/**
 * The embedded data folder's guards: one opener at a time (an OS lock), and modes only its owner
 * can read (folders 0700, files 0600).
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

// An open-file-description lock (F_OFD_SETLK on Linux, flock(2) on macOS), from a prebuilt
// binary shipped in the package: no install script. The kernel keeps it on the file, so it holds
// across PID namespaces (two containers on one volume), and drops it when the holder exits,
// however it exits: a crash never leaves a lock that blocks the next start.
const require = createRequire(import.meta.url);
const native = require("fs-native-extensions") as { tryLock(fd: number): boolean };

export class DataDirInUseError extends Error {}

export const LOCK_FILE = "latchkey.lock";

interface HolderInfo {
  pid?: number;
  hostname?: string;
  startedAt?: string;
}

function describeHolder(lockFile: string): string {
  try {
    const info = JSON.parse(fs.readFileSync(lockFile, "utf8")) as HolderInfo;
    const parts = [
      typeof info.pid === "number" ? `pid ${info.pid}` : undefined,
      typeof info.hostname === "string" ? `on ${info.hostname}` : undefined,
      typeof info.startedAt === "string" ? `since ${info.startedAt}` : undefined,
    ].filter(Boolean);
    return parts.length > 0 ? ` (${parts.join(" ")})` : "";
  } catch {
    return ""; // being written, or not ours to read: the lock is what counts
  }
}

/**
 * Takes the data folder's lock, or throws DataDirInUseError. PGlite corrupts its folder when two
 * processes open it, so only the holder ever does. The lock file's content (pid, host, start
 * time) is only for the message a second opener gets; a file left by a crash is simply reused.
 * Returns the release, which removes the file.
 */
export function acquireDataDirLock(dir: string): () => void {
  const lockFile = path.join(dir, LOCK_FILE);
  for (;;) {
    const fd = fs.openSync(lockFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    let locked = false;
    try {
      locked = native.tryLock(fd);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    if (!locked) {
      fs.closeSync(fd);
      throw new DataDirInUseError(
        `The data folder ${dir} is in use by another Latchkey process${describeHolder(lockFile)}. ` +
          "Stop it first, or set LATCHKEY_DATA_DIR to another folder.",
      );
    }
    // The holder before us may have removed the file between our open and our lock: then we
    // locked a file nobody else will look at. Start again on the one at the path.
    let current: fs.Stats | undefined;
    try {
      current = fs.statSync(lockFile);
    } catch {
      current = undefined;
    }
    const mine = fs.fstatSync(fd);
    if (!current || current.ino !== mine.ino || current.dev !== mine.dev) {
      fs.closeSync(fd);
      continue;
    }
    fs.fchmodSync(fd, 0o600);
    fs.ftruncateSync(fd, 0);
    const info: HolderInfo = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
    fs.writeSync(fd, JSON.stringify(info), 0);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Removed while still locked, so a new opener creates a fresh file rather than lock this one.
      try {
        fs.unlinkSync(lockFile);
      } catch {
        // already gone
      }
      fs.closeSync(fd);
    };
  }
}

/**
 * Folders 0700 and files 0600 under `dir`, for an install made before these modes (or under a
 * permissive umask). Symbolic links are left alone.
 */
export function tightenModes(dir: string): void {
  const visit = (target: string, stat: fs.Stats) => {
    if (stat.isSymbolicLink()) return;
    if (stat.isDirectory()) {
      if ((stat.mode & 0o777) !== 0o700) fs.chmodSync(target, 0o700);
      for (const entry of fs.readdirSync(target)) {
        const child = path.join(target, entry);
        let childStat: fs.Stats;
        try {
          childStat = fs.lstatSync(child);
        } catch {
          continue; // removed meanwhile
        }
        visit(child, childStat);
      }
    } else if (stat.isFile() && (stat.mode & 0o777) !== 0o600) {
      fs.chmodSync(target, 0o600);
    }
  };
  visit(dir, fs.lstatSync(dir));
}
