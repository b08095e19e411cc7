"use client";

import { signOut } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useActionState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, fieldErrorsFrom, formLevelMessage } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";
import { verifySecondFactorAction } from "./actions";

/** **Authentication code** (a recovery code also works, once) and **Verify**; or back to sign in as someone else. */
export function SecondStepForm() {
  const router = useRouter();
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await verifySecondFactorAction(prev, formData);
    if (result?.ok) {
      router.replace("/profile");
      router.refresh();
    }
    return result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <div className="space-y-4">
      <form action={formAction} className="space-y-4" noValidate>
        <FormMessage message={formLevelMessage(state)} />
        <Field
          label="Authentication code"
          name="code"
          autoComplete="one-time-code"
          autoFocus
          required
          hint="Lost your phone? Enter one of your recovery codes instead."
          errors={errors?.code}
        />
        <Button type="submit" className="w-full justify-center" disabled={pending || state?.ok === true}>
          {pending ? "Verifying…" : "Verify"}
        </Button>
      </form>
      {/* Ends the waiting sign-in (its server-side row too) and starts again. */}
      <Button variant="ghost" className="w-full justify-center" onClick={() => void signOut({ callbackUrl: "/sign-in" })}>
        Use another account
      </Button>
    </div>
  );
}
