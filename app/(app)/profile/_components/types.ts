import type { AccessLevel, KeyStatus, Role } from "@/db/schema";

/** A key row as the profile page receives it (dates serialised as ISO strings). */
export interface KeyRow {
  id: string;
  name: string;
  accessLevel: AccessLevel;
  status: KeyStatus;
  maskedKey: string;
  createdAt: string;
  lastUsedAt: string | null;
  disabledByAdmin: boolean;
}

export interface Viewer {
  role: Role;
}
