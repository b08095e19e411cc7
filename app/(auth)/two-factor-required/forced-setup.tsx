"use client";

import { signOut } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { TwoFactorSetup, type TwoFactorSecret } from "@/components/auth/two-factor-setup";
import { Button } from "@/components/ui/button";
import { FormMessage } from "@/components/ui/field";
import { beginTwoFactorSetupAction, enableTwoFactorAction } from "@/app/(app)/profile/two-factor-actions";

/** The set-up the policy requires, on its own page; then on to the Profile. */
export function ForcedTwoFactorSetup() {
  const router = useRouter();
  const [secret, setSecret] = useState<TwoFactorSecret | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, start] = useTransition();

  const begin = () =>
    start(async () => {
      setError(null);
      const result = await beginTwoFactorSetupAction({}).catch(() => null);
      if (result?.ok && result.data) setSecret(result.data);
      else setError(result && !result.ok ? result.message : "Something went wrong. Please try again.");
    });

  return (
    <div className="space-y-4">
      <FormMessage message={error} />
      {secret ? (
        <TwoFactorSetup
          secret={secret}
          enable={enableTwoFactorAction}
          finishLabel="Continue"
          onFinished={() => {
            router.replace("/profile");
            router.refresh();
          }}
        />
      ) : (
        <Button className="w-full justify-center" disabled={starting} onClick={begin}>
          {starting ? "Preparing…" : "Set up two-factor authentication"}
        </Button>
      )}
      <Button variant="ghost" className="w-full justify-center" onClick={() => void signOut({ callbackUrl: "/sign-in" })}>
        Sign out
      </Button>
    </div>
  );
}
