"use server";

import { confirmIdentity } from "@/lib/auth/confirm";
import { typedActionWithActor } from "@/lib/safe-action";
import { confirmIdentitySchema } from "@/lib/validation/confirm";

/** Confirm it's you: the password again, so the session's sensitive operations work for 15 minutes. */
export const confirmIdentityAction = typedActionWithActor(confirmIdentitySchema, async (input, actor) => {
  await confirmIdentity(actor, input.password);
  return { ok: true };
});
