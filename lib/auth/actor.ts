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
  /** Set when the request came through the REST API. */
  apiKey?: { id: string; name: string; accessLevel: AccessLevel };
}

/** Someone not signed in (setup, sign-in, accepting an invite), for audit rows. */
export interface Anonymous {
  ip: string | null;
  label: string;
}
