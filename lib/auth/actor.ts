import type { AccessLevel, Role } from "@/db/schema";

/** Who is acting: a signed-in person, or a person through one of their API keys. */
export interface Actor {
  userId: string;
  email: string;
  name: string;
  role: Role;
  ip: string | null;
  /** The browser session the request came with (absent for the REST API). */
  sessionId?: string;
  /**
   * The browser session's last sign-in or confirmation (sessions.confirmed_at), which Confirm
   * it's you measures (authorize's `recent`). Absent for the REST API, which it never applies to.
   */
  confirmedAt?: Date;
  /**
   * Browser sessions only (SPEC §12): whether the person has two-factor authentication on, and
   * whether they have a password (accounts single sign-on made have none). Confirm it's you asks
   * for what they have.
   */
  twoFactor?: boolean;
  hasPassword?: boolean;
  /**
   * The organisation requires two-factor authentication of this person and they have not set it
   * up: authorize refuses everything but the operations that opt out (setting it up, confirming).
   */
  mustSetUpTwoFactor?: boolean;
  /** Set when the request came through the REST API. */
  apiKey?: { id: string; name: string; accessLevel: AccessLevel };
}

/** Someone not signed in (setup, sign-in, accepting an invite), for audit rows. */
export interface Anonymous {
  ip: string | null;
  label: string;
}
