"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useCallback } from "react";

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
