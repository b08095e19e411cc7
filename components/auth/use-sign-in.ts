"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useCallback } from "react";

/** Signs in with email and password; resolves to an error message, or null on success. */
export function useSignIn() {
  const router = useRouter();
  return useCallback(
    async (email: string, password: string, next = "/profile"): Promise<string | null> => {
      const result = await signIn("credentials", { email, password, redirect: false });
      if (!result?.ok || result.error) {
        return result?.error === "RateLimited"
          ? "Too many failed sign-ins. Wait a few minutes and try again."
          : "Incorrect email or password.";
      }
      router.replace(next);
      router.refresh();
      return null;
    },
    [router],
  );
}
