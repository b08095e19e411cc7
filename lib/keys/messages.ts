/**
 * Messages about keys that both the services and the pages show. A plain module (no database
 * imports), so client components can import it too.
 */

/** SPEC §10's admin lock, as the holder of a key someone else disabled reads it. */
export const KEY_LOCKED_MESSAGE = "Someone else disabled this key. Only an Owner or another Admin can enable it again.";
