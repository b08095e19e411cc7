import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getActor, getPendingSignIn } from "@/lib/auth/session";
import { SecondStepForm } from "./second-step-form";

export const metadata: Metadata = { title: "Two-factor authentication" };

/** The second sign-in step: only for a browser whose sign-in waits for its code. */
export default async function SecondStepPage() {
  if (await getActor()) redirect("/profile");
  const pending = await getPendingSignIn();
  if (!pending) redirect("/sign-in");
  return (
    <>
      <h1 className="text-xl font-semibold">Two-factor authentication</h1>
      <p className="mt-1 mb-5 text-sm text-slate-600">
        Signing in as <span className="font-medium break-all text-slate-900">{pending.email}</span>. Enter the code from your authenticator
        app.
      </p>
      <SecondStepForm />
    </>
  );
}
