import type { Metadata } from "next";
import { requirePermission } from "@/lib/auth/session";
import { getKeyPolicy, getTwoFactorPolicy } from "@/lib/settings/service";
import { KeyPolicyForm } from "./_components/key-policy-form";
import { TwoFactorPolicyForm } from "./_components/two-factor-policy-form";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage() {
  const actor = await requirePermission("settings.manage");
  const policy = await getKeyPolicy(actor);
  const twoFactorPolicy = await getTwoFactorPolicy(actor);
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">Settings</h1>
        <p className="text-sm text-slate-600">
          Rules for every API key and every sign-in in the organisation. Changes are recorded in the audit log.
        </p>
      </div>
      <section aria-labelledby="key-policy" className="max-w-2xl space-y-4 rounded-lg border border-slate-200 bg-white p-4 sm:p-6">
        <h2 id="key-policy" className="text-lg font-semibold">
          API key policy
        </h2>
        {/* Keyed by the policy: after a save the form starts again from what is now stored. */}
        <KeyPolicyForm key={`${policy.maxKeyLifetimeDays}:${policy.disableUnusedAfterDays}`} policy={policy} />
      </section>
      <section aria-labelledby="two-factor-policy" className="max-w-2xl space-y-4 rounded-lg border border-slate-200 bg-white p-4 sm:p-6">
        <h2 id="two-factor-policy" className="text-lg font-semibold">
          Two-factor authentication
        </h2>
        <TwoFactorPolicyForm key={twoFactorPolicy} policy={twoFactorPolicy} />
      </section>
    </div>
  );
}
