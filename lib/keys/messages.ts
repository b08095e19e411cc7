/**
 * Messages about keys that both the services and the pages show. A plain module (no database
 * imports), so client components can import it too.
 */

/** SPEC §10's admin lock, as the holder of a key someone else disabled reads it. */
export const KEY_LOCKED_MESSAGE = "Someone else disabled this key. Only an Owner or another Admin can enable it again.";

/** Another user's key id, or none at all: the same answer, so ids cannot be probed. */
export const KEY_NOT_FOUND = "API key not found.";

/** A Read-only API key asked to change something. */
export const READ_ONLY_KEY_MESSAGE = "This API key is Read-only; use a Read & Write key to make changes.";
