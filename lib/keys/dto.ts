import type { AccessLevel, ApiKey, KeyStatus } from "@/db/schema";
import { maskApiKey } from "./format";

/**
 * A key as pages and the API see it: never the secret, ciphertext or digest. Its own module, so
 * the service, the verification cache and the pages share it without importing each other.
 */
export interface ApiKeyDto {
  id: string;
  name: string;
  accessLevel: AccessLevel;
  status: KeyStatus;
  maskedKey: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** Disabled by someone other than its holder: only an Owner or another Admin can enable it again. */
  disabledByAdmin: boolean;
}

export function toKeyDto(row: ApiKey): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    accessLevel: row.accessLevel,
    status: row.status,
    maskedKey: maskApiKey(row.prefix, row.last4),
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    disabledByAdmin: row.status === "disabled" && row.disabledByAdmin,
  };
}
