import type { AccessLevel, ApiKey, KeyStatus } from "@/db/schema";
import { isExpired } from "./expiry";
import { maskApiKey } from "./format";

/**
 * A key as pages and the API see it: never the secret, ciphertext or digest. Its own module, so
 * the service, the verification cache and the pages share it without importing each other.
 */
export interface ApiKeyDto {
  id: string;
  name: string;
  description: string | null;
  accessLevel: AccessLevel;
  status: KeyStatus;
  maskedKey: string;
  createdAt: Date;
  /** When it stops working; null: never. */
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  /** After a regenerate with a grace period: until when the previous secret still works. */
  previousSecretExpiresAt: Date | null;
  /** Disabled by someone other than its holder: only an Owner or another Admin can enable it again. */
  disabledByAdmin: boolean;
  /** Why a job disabled it ("unused": the unused-key policy); null otherwise. */
  disabledReason: string | null;
}

/** The columns a key's DTO is made of: a list selects these and nothing secret. */
export type KeyDtoSource = Pick<
  ApiKey,
  | "id"
  | "name"
  | "description"
  | "accessLevel"
  | "status"
  | "prefix"
  | "last4"
  | "createdAt"
  | "expiresAt"
  | "lastUsedAt"
  | "lastUsedIp"
  | "previousExpiresAt"
  | "disabledByAdmin"
  | "disabledReason"
>;

export function toKeyDto(row: KeyDtoSource): ApiKeyDto {
  const now = Date.now();
  // Every write sets or clears previous_digest and previous_expires_at together: the time says it.
  const previousLive = row.previousExpiresAt !== null && row.previousExpiresAt.getTime() > now;
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    accessLevel: row.accessLevel,
    status: row.status,
    maskedKey: maskApiKey(row.prefix, row.last4),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    previousSecretExpiresAt: previousLive && row.status === "active" ? row.previousExpiresAt : null,
    disabledByAdmin: row.status === "disabled" && row.disabledByAdmin,
    disabledReason: row.status === "disabled" ? row.disabledReason : null,
  };
}

/** What the tables show as Status: Active, Disabled, or Expired (an active key past its expiry). */
export type KeyState = KeyStatus | "expired";

export function keyState(key: Pick<ApiKeyDto, "status" | "expiresAt">, now: Date | number = Date.now()): KeyState {
  if (key.status === "disabled") return "disabled";
  return isExpired(key.expiresAt, now) ? "expired" : "active";
}
