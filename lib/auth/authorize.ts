import { confirmationRequired, forbidden } from "@/lib/errors";
import { READ_ONLY_KEY_MESSAGE } from "@/lib/keys/messages";
import type { Actor } from "./actor";
import { can, type Permission } from "./permissions";

/** Confirm it's you (SPEC §12): how long a sign-in or a confirmation covers the sensitive operations. */
export const CONFIRMATION_WINDOW_MS = 15 * 60 * 1000;

export interface AuthorizeOptions {
  /** A change: through an API key, only a Read & Write key may make it. */
  write?: boolean;
  /** Only in the browser: refused through any API key, with this message. */
  browserOnly?: string;
  /**
   * Sensitive (SPEC §12, Confirm it's you): a browser session must have signed in or confirmed
   * the password within CONFIRMATION_WINDOW_MS, else "confirmation_required". API-key actors are
   * not session-based (the key is the credential, and it is checked on every request), so this
   * never applies to them.
   */
  recent?: boolean;
  /**
   * Allowed to a person who must set up two-factor authentication first (SPEC §12's policy):
   * setting it up, reading its state, confirming, signing a session out. Everything else refuses them.
   */
  beforeTwoFactorSetUp?: boolean;
  /** The refusal when the role lacks the permission (default: a generic one). */
  message?: string;
}

/** Whether a browser actor's last sign-in or confirmation is recent enough for `recent` operations. */
export const TWO_FACTOR_SET_UP_REQUIRED_MESSAGE =
  "Your organisation requires two-factor authentication. Set it up on your Profile before doing anything else.";

export function isRecentlyConfirmed(actor: Actor, now: Date = new Date()): boolean {
  if (!actor.confirmedAt) return false; // fail closed: a browser actor without one never counts as confirmed
  return now.getTime() - actor.confirmedAt.getTime() <= CONFIRMATION_WINDOW_MS;
}

/**
 * The one authorization check every service makes before it acts: the role's permission (the
 * matrix in permissions.ts), then what the transport allows (browser-only operations, and
 * changes through a Read-only key), then, for sensitive operations in the browser, a recent
 * confirmation. A browser person the two-factor policy covers who has not set it up is refused
 * everything but what opts out. Throws a "forbidden" (or "confirmation_required") ServiceError.
 */
export function authorize(actor: Actor, permission: Permission | null, options: AuthorizeOptions = {}): void {
  if (permission && !can(actor.role, permission)) throw forbidden(options.message);
  if (!actor.apiKey) {
    if (actor.mustSetUpTwoFactor && !options.beforeTwoFactorSetUp) throw forbidden(TWO_FACTOR_SET_UP_REQUIRED_MESSAGE);
    if (options.recent && !isRecentlyConfirmed(actor)) throw confirmationRequired();
    return;
  }
  if (options.browserOnly) throw forbidden(options.browserOnly);
  if (options.write && actor.apiKey.accessLevel !== "read_write") throw forbidden(READ_ONLY_KEY_MESSAGE);
}
