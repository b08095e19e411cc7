import type { Metadata } from "next";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import { requireActor } from "@/lib/auth/session";
import { listOwnSessions } from "@/lib/auth/sessions";
import { getTwoFactorStatus } from "@/lib/auth/two-factor";
import { listOwnApiKeys } from "@/lib/keys/service";
import { db } from "@/lib/runtime";
import { readKeyPolicy } from "@/lib/settings/policy";
import { ApiKeysSection } from "./_components/api-keys-section";
import { ChangePasswordForm } from "./_components/change-password-form";
import { SessionsSection } from "./_components/sessions-section";
import { TwoFactorSection } from "./_components/two-factor-section";

export const metadata: Metadata = { title: "Profile" };

export default async function ProfilePage() {
  const actor = await requireActor();
  const sessions = await listOwnSessions(actor);
  // Dates and all: React serialises them for the client components.
  const keys = await listOwnApiKeys(actor);
  // The Add and Regenerate dialogs offer only the expirations the organisation's policy allows.
  const { maxKeyLifetimeDays } = await readKeyPolicy(db());
  const twoFactor = await getTwoFactorStatus(actor);
  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-2xl font-semibold">Profile</h1>
        <dl className="mt-3 grid gap-x-8 gap-y-1 text-sm sm:grid-cols-[auto_1fr]">
          <dt className="text-slate-600">Name</dt>
          <dd className="font-medium">{actor.name}</dd>
          <dt className="text-slate-600">Email</dt>
          <dd className="font-medium break-all">{actor.email}</dd>
          <dt className="text-slate-600">Role</dt>
          <dd className="font-medium">{ROLE_LABELS[actor.role]}</dd>
        </dl>
      </div>
      <ApiKeysSection keys={keys} role={actor.role} maxLifetimeDays={maxKeyLifetimeDays} />
      <section aria-labelledby="password-heading" className="space-y-4 border-t border-slate-200 pt-8">
        <div>
          <h2 id="password-heading" className="text-lg font-semibold">
            Password
          </h2>
          <p className="text-sm text-slate-600">
            {actor.hasPassword === false
              ? "Your account signs in with single sign-on and has no password here: your identity provider keeps it."
              : "Change the password you sign in with."}
          </p>
        </div>
        {actor.hasPassword === false ? null : <ChangePasswordForm />}
      </section>
      <TwoFactorSection status={twoFactor} hasPassword={actor.hasPassword ?? true} />
      <SessionsSection sessions={sessions} />
    </div>
  );
}
