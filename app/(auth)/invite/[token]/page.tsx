import type { Metadata } from "next";
import Link from "next/link";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import { inviteProblem, lookupInvite } from "@/lib/users/service";
import { AcceptInviteForm } from "./accept-invite-form";

export const metadata: Metadata = { title: "Accept invite" };

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const invite = await lookupInvite(token);
  if (invite.status !== "valid") {
    return (
      <>
        <h1 className="text-xl font-semibold">Invite unavailable</h1>
        <p className="mt-2 text-sm text-slate-700" role="alert">
          {inviteProblem(invite.status)}
        </p>
        <Link href="/sign-in" className="mt-4 inline-block text-sm font-medium text-indigo-700 underline underline-offset-4">
          Go to sign in
        </Link>
      </>
    );
  }
  return (
    <>
      <h1 className="text-xl font-semibold">Join Latchkey</h1>
      <p className="mt-1 mb-5 text-sm text-slate-600">
        You were invited as <strong>{ROLE_LABELS[invite.role]}</strong> with the email <strong className="break-all">{invite.email}</strong>
        .
      </p>
      <AcceptInviteForm token={token} />
    </>
  );
}
