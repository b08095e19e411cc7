import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getActor, redirectToSignIn } from "@/lib/auth/session";
import { ForcedTwoFactorSetup } from "./forced-setup";

export const metadata: Metadata = { title: "Set up two-factor authentication" };

/**
 * Where a person the organisation's policy covers is sent until they have set up two-factor
 * authentication (SPEC §12). Outside the signed-in layout, which sends them here.
 */
export default async function TwoFactorSetupPage() {
  const actor = await getActor();
  if (!actor) return redirectToSignIn();
  if (!actor.mustSetUpTwoFactor) redirect("/profile");
  return (
    <>
      <h1 className="text-xl font-semibold">Set up two-factor authentication</h1>
      <p className="mt-1 mb-5 text-sm text-slate-600">
        Your organisation requires two-factor authentication. Set it up to continue to Latchkey.
      </p>
      <ForcedTwoFactorSetup />
    </>
  );
}
