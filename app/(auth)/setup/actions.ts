"use server";

import { requestIp } from "@/lib/auth/session";
import { validatedAction } from "@/lib/safe-action";
import { createOwner } from "@/lib/users/service";
import { setupSchema } from "@/lib/validation/users";

export const createOwnerAction = validatedAction(setupSchema, async (input) => {
  await createOwner(input, { ip: await requestIp(), label: input.email });
  return { ok: true };
});
