/**
 * What the process holds once it has started: the database connection, the keyring derived from
 * the server secret, the API-key verification cache and this instance's id. server/main.ts (and
 * the scripts and tests, which start the process's pieces themselves) put them here; the domain
 * reads them through the accessors below.
 *
 * Why one object on globalThis: the custom server and Next.js each load their own copy of lib/
 * (Next.js bundles it for pages and server actions), and both copies must reach the same
 * connection, keyring and cache; a server action's revocation must empty the cache the API reads.
 * This module is the only place in the app that keeps process state in globals; nothing passes
 * state through process.env.
 */
import type { Connection, Database } from "@/db/client";
import { KeyVerificationCache } from "@/lib/keys/cache";
import { createKeyring, type Keyring } from "@/lib/config/keyring";

interface Runtime {
  connection?: Connection;
  keyring?: Keyring;
  keyCache?: KeyVerificationCache;
  instanceId?: string;
}

const slot = Symbol.for("latchkey.runtime");

function runtime(): Runtime {
  const holder = globalThis as typeof globalThis & { [slot]?: Runtime };
  return (holder[slot] ??= {});
}

/** Makes `connection` the one every service uses; returns the one it replaces. */
export function setConnection(connection: Connection | undefined): Connection | undefined {
  const previous = runtime().connection;
  runtime().connection = connection;
  return previous;
}

/** The process's database connection (a pool and the Drizzle database over it). */
export function connection(): Connection {
  const current = runtime().connection;
  if (!current) {
    throw new Error("No database: start Latchkey with `npm start` or `npm run dev`, which open it (db/open.ts).");
  }
  return current;
}

/** The process's Drizzle database. */
export function db(): Database {
  return connection().db;
}

/** Derives the process's keys from the server secret (lib/config/secret.ts resolves it). */
export function setServerSecret(secret: string): void {
  runtime().keyring = createKeyring(secret);
}

/** The keyring: independent keys for sessions, key encryption, digests and invites. */
export function keyring(): Keyring {
  const current = runtime().keyring;
  if (!current) throw new Error("No server secret: start Latchkey with `npm start` or `npm run dev`.");
  return current;
}

/** The process's API-key verification cache (off until the server configures it). */
export function keyCache(): KeyVerificationCache {
  return (runtime().keyCache ??= new KeyVerificationCache());
}

/** A random id per process, so an instance recognises its own key-change NOTIFYs. */
export function instanceId(): string {
  return (runtime().instanceId ??= crypto.randomUUID());
}
