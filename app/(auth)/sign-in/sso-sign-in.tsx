"use client";

import { signIn } from "next-auth/react";
import { useState } from "react";
import { Button } from "@/components/ui/button";

/** "Sign in with SSO" (SPEC §12): off to the identity provider, and back to the Profile page. */
export function SsoSignIn({ providerId }: { providerId: string }) {
  const [pending, setPending] = useState(false);
  return (
    <div className="mt-5">
      <div className="mb-5 flex items-center gap-3 text-xs uppercase tracking-wide text-slate-500" aria-hidden>
        <span className="h-px flex-1 bg-slate-200" />
        or
        <span className="h-px flex-1 bg-slate-200" />
      </div>
      <Button
        variant="secondary"
        className="w-full justify-center"
        disabled={pending}
        onClick={() => {
          setPending(true);
          void signIn(providerId, { callbackUrl: "/profile" }).catch(() => setPending(false));
        }}
      >
        {pending ? "Redirecting…" : "Sign in with SSO"}
      </Button>
    </div>
  );
}
