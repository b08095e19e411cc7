import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { hasAnyUser } from "@/lib/users/service";
import { SetupForm } from "./setup-form";

export const metadata: Metadata = { title: "Set up" };

export default async function SetupPage() {
  // Once the Owner exists, first-run setup is gone.
  if (await hasAnyUser()) notFound();
  return (
    <>
      <h1 className="text-xl font-semibold">Create the owner account</h1>
      <p className="mt-1 mb-5 text-sm text-slate-600">
        Welcome to Latchkey. The first account owns this installation and can invite everyone else.
      </p>
      <SetupForm />
    </>
  );
}
