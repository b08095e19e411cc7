"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useActionState, useCallback } from "react";
import type { ActionState } from "@/lib/safe-action";

/**
 * What to say for next-auth's error string. A rate-limited attempt comes back as
 * "RateLimited:<seconds>" (next-auth passes only a string), so the wait can be shown.
 */
export function signInErrorMessage(error: string | null | undefined): string {
  const limited = /^RateLimited(?::(\d+))?$/.exec(error ?? "");
  if (!limited) return "Incorrect email or password.";
  const seconds = Number(limited[1] ?? 60);
  return `Too many failed sign-ins. Try again in ${seconds} ${seconds === 1 ? "second" : "seconds"}.`;
}

/** Signs in with email and password; resolves to an error message, or null on success. */
export function useSignIn() {
  const router = useRouter();
  return useCallback(
    async (email: string, password: string, next = "/profile"): Promise<string | null> => {
      const result = await signIn("credentials", { email, password, redirect: false });
      if (!result?.ok || result.error) return signInErrorMessage(result?.error);
      router.replace(next);
      router.refresh();
      return null;
    },
    [router],
  );
}

/** A create-account form's state: the action's answer, with what was typed (never the password). */
export type SignUpState<T, V> = (NonNullable<ActionState<T>> & { values?: V }) | null;

/**
 * The forms that create an account and then sign in with it (Setup, accepting an invite):
 * useActionState around `action`, then a sign-in with the email `emailOf` picks and the password
 * typed in the form's "password" field. A refusal keeps the typed `values` for the form.
 */
export function useSubmitThenSignIn<T, V>(
  action: (previousState: ActionState<T>, formData: FormData) => Promise<ActionState<T>>,
  { values: valuesOf, emailOf }: { values: (formData: FormData) => V; emailOf: (formData: FormData, data: T | undefined) => string },
) {
  const signIn = useSignIn();
  return useActionState<SignUpState<T, V>, FormData>(async (_prev, formData) => {
    const values = valuesOf(formData);
    // Never the previous state: the action does not read it, so it need not travel back.
    const result = await action(null, formData);
    if (!result?.ok) return { ...result!, values };
    const error = await signIn(emailOf(formData, result.data), String(formData.get("password") ?? ""));
    return error ? { ok: false, message: `Your account was created, but signing in failed: ${error}`, values } : result;
  }, null);
}
