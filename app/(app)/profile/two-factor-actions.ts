"use server";

import { revalidatePath } from "next/cache";
import { beginTwoFactorSetup, disableTwoFactor, enableTwoFactor, regenerateRecoveryCodes } from "@/lib/auth/two-factor";
import { typedActionWithActor } from "@/lib/safe-action";
import {
  beginTwoFactorSetupSchema,
  disableTwoFactorSchema,
  enableTwoFactorSchema,
  regenerateRecoveryCodesSchema,
} from "@/lib/validation/two-factor";

/**
 * Profile's Two-factor authentication (SPEC §12), also used by the forced set-up page. Turning on
 * and new recovery codes do not revalidate: the page would re-render (and, on the forced set-up
 * page, move on) before the person has saved the codes; the dialog refreshes when they are done.
 */

export const beginTwoFactorSetupAction = typedActionWithActor(beginTwoFactorSetupSchema, async (_input, actor) => {
  const { uri, setupKey } = await beginTwoFactorSetup(actor);
  return { ok: true, data: { uri, setupKey } };
});

export const enableTwoFactorAction = typedActionWithActor(enableTwoFactorSchema, async (input, actor) => {
  const { recoveryCodes } = await enableTwoFactor(actor, input.code);
  return { ok: true, message: "Two-factor authentication is on.", data: { recoveryCodes } };
});

export const disableTwoFactorAction = typedActionWithActor(disableTwoFactorSchema, async (input, actor) => {
  await disableTwoFactor(actor, input);
  revalidatePath("/profile");
  return { ok: true, message: "Two-factor authentication is off." };
});

export const regenerateRecoveryCodesAction = typedActionWithActor(regenerateRecoveryCodesSchema, async (input, actor) => {
  const { recoveryCodes } = await regenerateRecoveryCodes(actor, input.code);
  return { ok: true, message: "New recovery codes made. The old ones no longer work.", data: { recoveryCodes } };
});
