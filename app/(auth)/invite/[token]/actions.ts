"use server";

import { requestIp } from "@/lib/auth/session";
import { validatedAction } from "@/lib/safe-action";
import { acceptInvite } from "@/lib/users/service";
import { acceptInviteSchema } from "@/lib/validation/users";

export const acceptInviteAction = validatedAction(acceptInviteSchema, async (input) => {
  const user = await acceptInvite(input, await requestIp());
  return { ok: true, data: { email: user.email } };
});
