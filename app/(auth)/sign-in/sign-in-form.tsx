"use client";

import { useActionState } from "react";
import { useSignIn } from "@/components/auth/use-sign-in";
import { Button } from "@/components/ui/button";
import { Field, FormMessage } from "@/components/ui/field";
import { fieldErrorsOf, type FieldErrors } from "@/lib/validation/common";
import { signInSchema } from "@/lib/validation/users";

interface State {
  message?: string;
  fieldErrors?: FieldErrors;
  email?: string;
}

export function SignInForm() {
  const signIn = useSignIn();
  const [state, formAction, pending] = useActionState<State, FormData>(async (_prev, formData) => {
    const raw = { email: formData.get("email"), password: formData.get("password") };
    const email = String(raw.email ?? "");
    const parsed = signInSchema.safeParse(raw);
    if (!parsed.success) return { fieldErrors: fieldErrorsOf(parsed.error), email };
    const error = await signIn(parsed.data.email, parsed.data.password);
    return error ? { message: error, email } : {};
  }, {});
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <FormMessage message={state.message} />
      <Field
        label="Email"
        name="email"
        type="email"
        autoComplete="email"
        required
        defaultValue={state.email}
        errors={state.fieldErrors?.email}
      />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        errors={state.fieldErrors?.password}
      />
      <Button type="submit" className="w-full justify-center" disabled={pending}>
        {pending ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}
