"use server";

import { confirmIdentity } from "@/lib/auth/confirm";
import { typedActionWithActor } from "@/lib/safe-action";
import { confirmIdentityWithCodeSchema } from "@/lib/validation/two-factor";

/**
 * Confirm it's you: the password again (and, with two-factor authentication, a code), so the
 * session's sensitive operations work for 15 minutes.
 */
export const confirmIdentityAction = typedActionWithActor(confirmIdentityWithCodeSchema, async (input, actor) => {
  await confirmIdentity(actor, input);
  return { ok: true };
});
