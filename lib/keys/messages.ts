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

/**
 * What a toast says after a change to a key, in one voice wherever the change is made (Profile,
 * the Access Manager, in bulk): `API key "name" <what happened>.`
 */
export const KEY_TOASTS = {
  added: (name: string) => `API key "${name}" added.`,
  saved: (name: string) => `API key "${name}" saved.`,
  disabled: (name: string) => `API key "${name}" disabled.`,
  enabled: (name: string) => `API key "${name}" enabled.`,
  deleted: (name: string) => `API key "${name}" deleted.`,
  /** `oldWorksUntil`: the end of the grace period, already written out (lib/format); null: none. */
  regenerated: (name: string, oldWorksUntil: string | null) =>
    oldWorksUntil
      ? `API key "${name}" regenerated. The old secret works until ${oldWorksUntil}.`
      : `API key "${name}" regenerated. The old secret no longer works.`,
  previousRevoked: (name: string) => `API key "${name}": the old secret no longer works.`,
  /** Bulk actions: "12 API keys disabled." */
  many: (count: string, what: "disabled" | "deleted") => `${count} ${what}.`,
} as const;

/** Confirmations are titled by what they do. */
export const KEY_CONFIRM_TITLES = {
  regenerate: "Regenerate API key?",
  delete: "Delete API key?",
  disable: "Disable API key?",
  revokePrevious: "Revoke the old secret?",
  disableMany: "Disable API keys?",
  deleteMany: "Delete API keys?",
} as const;
