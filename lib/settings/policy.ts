import { eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { organisationSettings, type TwoFactorPolicy } from "@/db/schema";

/** The organisation's key policy (SPEC §11): null means No limit / Off. */
export interface KeyPolicy {
  maxKeyLifetimeDays: number | null;
  disableUnusedAfterDays: number | null;
}

export const NO_POLICY: KeyPolicy = { maxKeyLifetimeDays: null, disableUnusedAfterDays: null };

/** The policy as it stands (the migration makes its one row; a missing row means no policy). */
export async function readKeyPolicy(tx: DbOrTx): Promise<KeyPolicy> {
  const [row] = await tx
    .select({
      maxKeyLifetimeDays: organisationSettings.maxKeyLifetimeDays,
      disableUnusedAfterDays: organisationSettings.disableUnusedAfterDays,
    })
    .from(organisationSettings)
    .where(eq(organisationSettings.id, 1))
    .limit(1);
  return row ?? NO_POLICY;
}

/** Who must use two-factor authentication (SPEC §12); a missing row means Off. */
export async function readTwoFactorPolicy(tx: DbOrTx): Promise<TwoFactorPolicy> {
  const [row] = await tx
    .select({ requireTwoFactor: organisationSettings.requireTwoFactor })
    .from(organisationSettings)
    .where(eq(organisationSettings.id, 1))
    .limit(1);
  return row?.requireTwoFactor ?? "off";
}
