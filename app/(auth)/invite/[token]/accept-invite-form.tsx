"use client";

import { useActionState } from "react";
import { useSignIn } from "@/components/auth/use-sign-in";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";
import { acceptInviteAction } from "./actions";

type State = (NonNullable<ActionState<{ email: string }>> & { name?: string }) | null;

export function AcceptInviteForm({ token }: { token: string }) {
  const signIn = useSignIn();
  const [state, formAction, pending] = useActionState<State, FormData>(async (prev, formData) => {
    const name = String(formData.get("name") ?? "");
    const result = await acceptInviteAction(prev, formData);
    if (!result?.ok || !result.data) return { ...result!, name };
    const error = await signIn(result.data.email, String(formData.get("password") ?? ""));
    return error ? { ok: false, message: `Your account was created, but signing in failed: ${error}`, name } : result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <input type="hidden" name="token" value={token} />
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="name" required defaultValue={state?.name} errors={errors?.name} />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        hint="At least 8 characters."
        errors={errors?.password}
      />
      <Button type="submit" className="w-full justify-center" disabled={pending}>
        {pending ? "Creating account…" : "Create account"}
      </Button>
    </form>
  );
}
