"use server";

import { revalidatePath } from "next/cache";
import { validatedActionWithActor } from "@/lib/safe-action";
import { updateKeyPolicy, updateTwoFactorPolicy } from "@/lib/settings/service";
import { keyPolicySchema, twoFactorPolicySchema } from "@/lib/validation/settings";

export const updateKeyPolicyAction = validatedActionWithActor(keyPolicySchema, async (input, actor) => {
  const { changed } = await updateKeyPolicy(actor, input);
  revalidatePath("/admin/settings");
  // The Access Manager's Over policy filter and the Add API Key dialog follow the policy.
  revalidatePath("/admin/api-access");
  revalidatePath("/profile");
  return { ok: true, message: changed ? "Settings saved." : "Nothing to change: the settings were already so." };
});

/** Require two-factor authentication: people it covers are sent to set it up on their next page. */
export const updateTwoFactorPolicyAction = validatedActionWithActor(twoFactorPolicySchema, async (input, actor) => {
  const { changed } = await updateTwoFactorPolicy(actor, input);
  revalidatePath("/admin/settings");
  return { ok: true, message: changed ? "Settings saved." : "Nothing to change: the settings were already so." };
});
