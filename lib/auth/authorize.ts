import { forbidden } from "@/lib/errors";
import { READ_ONLY_KEY_MESSAGE } from "@/lib/keys/messages";
import type { Actor } from "./actor";
import { can, type Permission } from "./permissions";

export interface AuthorizeOptions {
  /** A change: through an API key, only a Read & Write key may make it. */
  write?: boolean;
  /** Only in the browser: refused through any API key, with this message. */
  browserOnly?: string;
  /** The refusal when the role lacks the permission (default: a generic one). */
  message?: string;
}

/**
 * The one authorization check every service makes before it acts: the role's permission (the
 * matrix in permissions.ts), then what the transport allows (browser-only operations, and
 * changes through a Read-only key). Throws a "forbidden" ServiceError; returns nothing.
 */
export function authorize(actor: Actor, permission: Permission | null, options: AuthorizeOptions = {}): void {
  if (permission && !can(actor.role, permission)) throw forbidden(options.message);
  if (!actor.apiKey) return;
  if (options.browserOnly) throw forbidden(options.browserOnly);
  if (options.write && actor.apiKey.accessLevel !== "read_write") throw forbidden(READ_ONLY_KEY_MESSAGE);
}
