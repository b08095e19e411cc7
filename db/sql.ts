/** Small helpers for building queries safely, shared by every service. */

/** Escapes LIKE's wildcards (and its escape character) so user text matches literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` is a row id (a UUID): anything else is "not found" without asking PostgreSQL, which would reject it. */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}
