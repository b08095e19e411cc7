import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { FormMessage } from "@/components/ui/field";
import { SSO_PROVIDER_ID } from "@/lib/auth/options";
import { getActor } from "@/lib/auth/session";
import { signInPageError } from "@/lib/auth/sign-in-errors";
import { oidcSettings } from "@/lib/config/env";
import { hasAnyUser } from "@/lib/users/service";
import { SignInForm } from "./sign-in-form";
import { SsoSignIn } from "./sso-sign-in";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  if (!(await hasAnyUser())) redirect("/setup");
  if (await getActor()) redirect("/profile");
  const { error } = await searchParams;
  const problem = signInPageError(typeof error === "string" ? error : undefined);
  return (
    <>
      <h1 className="mb-5 text-xl font-semibold">Sign in to Latchkey</h1>
      {problem && (
        <div className="mb-4">
          <FormMessage message={problem} />
        </div>
      )}
      <SignInForm />
      {oidcSettings() && <SsoSignIn providerId={SSO_PROVIDER_ID} />}
    </>
  );
}
