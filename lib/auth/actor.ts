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
  /** Set when the request came through the REST API. */
  apiKey?: { id: string; name: string; accessLevel: AccessLevel };
}

/** Someone not signed in (setup, sign-in, accepting an invite), for audit rows. */
export interface Anonymous {
  ip: string | null;
  label: string;
}
