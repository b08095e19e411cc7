"use server";

import { revalidatePath } from "next/cache";
import { validatedActionWithActor } from "@/lib/safe-action";
import { createInvite } from "@/lib/users/service";
import { inviteSchema } from "@/lib/validation/users";

export const createInviteAction = validatedActionWithActor(inviteSchema, async (input, actor) => {
  const invite = await createInvite(actor, input);
  revalidatePath("/admin/users");
  return { ok: true, data: { path: `/invite/${invite.token}`, expiresAt: invite.expiresAt.toISOString() } };
});
