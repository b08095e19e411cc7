"use server";

import { getPendingSignIn, requestIp } from "@/lib/auth/session";
import { passSecondFactor, SIGN_IN_EXPIRED_MESSAGE } from "@/lib/auth/two-factor";
import { validatedAction } from "@/lib/safe-action";
import { secondFactorSchema } from "@/lib/validation/two-factor";

/**
 * The second sign-in step (SPEC §12): the code for the sign-in this browser's cookie names. Only a
 * sign-in still waiting for its code takes it; the session then becomes a normal one.
 */
export const verifySecondFactorAction = validatedAction(secondFactorSchema, async (input) => {
  const pending = await getPendingSignIn();
  if (!pending) return { ok: false, message: SIGN_IN_EXPIRED_MESSAGE };
  await passSecondFactor(pending.sessionId, input.code, await requestIp());
  return { ok: true };
});
