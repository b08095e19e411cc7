import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { getActor } from "@/lib/auth/session";
import { hasAnyUser } from "@/lib/users/service";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (!(await hasAnyUser())) redirect("/setup");
  if (await getActor()) redirect("/profile");
  return (
    <>
      <h1 className="mb-5 text-xl font-semibold">Sign in to Latchkey</h1>
      <SignInForm />
    </>
  );
}
