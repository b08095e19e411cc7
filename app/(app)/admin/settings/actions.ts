"use server";

import { revalidatePath } from "next/cache";
import { validatedActionWithActor } from "@/lib/safe-action";
import { updateKeyPolicy } from "@/lib/settings/service";
import { keyPolicySchema } from "@/lib/validation/settings";

export const updateKeyPolicyAction = validatedActionWithActor(keyPolicySchema, async (input, actor) => {
  const { changed } = await updateKeyPolicy(actor, input);
  revalidatePath("/admin/settings");
  // The Access Manager's Over policy filter and the Add API Key dialog follow the policy.
  revalidatePath("/admin/api-access");
  revalidatePath("/profile");
  return { ok: true, message: changed ? "Settings saved." : "Nothing to change: the settings were already so." };
});
