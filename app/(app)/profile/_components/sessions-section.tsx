"use client";

import { signOut } from "next-auth/react";
import { useState, useTransition } from "react";
import { toast } from "sonner";
import { ScrollRegion } from "@/components/data-table/scroll-region";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { FormMessage } from "@/components/ui/field";
import { Td, Th } from "@/components/ui/table";
import type { SessionDto } from "@/lib/auth/sessions";
import { formatDateTime } from "@/lib/format";
import { endOtherSessionsAction, endSessionAction } from "../actions";

/** Profile's Sessions: where the person is signed in, with Sign out per row and for all the others. */
export function SessionsSection({ sessions }: { sessions: SessionDto[] }) {
  const [error, setError] = useState<string | null>(null);
  const [working, startWork] = useTransition();
  const others = sessions.filter((s) => !s.current).length;

  const signOutRow = (session: SessionDto) =>
    startWork(async () => {
      setError(null);
      if (session.current) {
        await signOut({ callbackUrl: "/sign-in" });
        return;
      }
      const result = await endSessionAction({ sessionId: session.id });
      if (result?.ok) toast.success(result.message ?? "Signed out.");
      else setError(result?.message ?? "Something went wrong. Please try again.");
    });

  const signOutOthers = () =>
    startWork(async () => {
      setError(null);
      const result = await endOtherSessionsAction({});
      if (result?.ok) toast.success(result.message ?? "Signed out.");
      else setError(result?.message ?? "Something went wrong. Please try again.");
    });

  return (
    <section aria-labelledby="sessions-heading" className="space-y-4 border-t border-slate-200 pt-8" data-testid="sessions-section">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h2 id="sessions-heading" className="text-lg font-semibold">
            Sessions
          </h2>
          <p className="text-sm text-slate-600">Where you are signed in. Sign out anything you do not recognise.</p>
        </div>
        <Button variant="secondary" size="sm" disabled={working || others === 0} onClick={signOutOthers}>
          Sign out other sessions
        </Button>
      </div>
      <FormMessage message={error} />
      {/* Phones: one card per session. */}
      <ul className="divide-y divide-slate-100 rounded-lg border border-slate-200 bg-white sm:hidden">
        {sessions.map((session) => (
          <li key={session.id} data-testid="session" className="space-y-2 px-4 py-3">
            <div className="flex items-start justify-between gap-3">
              <div className="space-y-1">
                <p className="font-medium text-slate-900" id={`session-${session.id}-card`}>
                  {session.device}
                </p>
                {session.current ? <Badge tone="indigo">This session</Badge> : null}
              </div>
              <SignOutRowButton session={session} describedBy={`session-${session.id}-card`} disabled={working} onClick={signOutRow} />
            </div>
            <SessionFacts session={session} />
          </li>
        ))}
      </ul>
      <ScrollRegion label="Sessions table" className="hidden sm:block">
        <table className="w-full min-w-max border-collapse text-left text-sm">
          <caption className="sr-only">Sessions</caption>
          <thead>
            <tr>
              <Th>Device</Th>
              <Th>IP address</Th>
              <Th>Signed in</Th>
              <Th>Last active</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => {
              const deviceId = `session-${session.id}-device`;
              return (
                <tr key={session.id} data-testid="session">
                  <Td className="font-medium text-slate-900">
                    <span id={deviceId}>{session.device}</span>
                    {session.current ? (
                      <span className="ml-2">
                        <Badge tone="indigo">This session</Badge>
                      </span>
                    ) : null}
                  </Td>
                  <Td className="font-mono text-xs">{session.ip ?? "Unknown"}</Td>
                  <Td className="whitespace-nowrap">{formatDateTime(session.createdAt)}</Td>
                  <Td className="whitespace-nowrap">{lastActive(session)}</Td>
                  <Td className="text-right">
                    <SignOutRowButton session={session} describedBy={deviceId} disabled={working} onClick={signOutRow} />
                  </Td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>
    </section>
  );
}

const lastActive = (session: SessionDto) => (session.current ? "Now" : formatDateTime(session.lastActiveAt));

function SessionFacts({ session }: { session: SessionDto }) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-0.5 text-sm">
      <dt className="text-slate-600">IP address</dt>
      <dd className="font-mono text-xs leading-5 break-all">{session.ip ?? "Unknown"}</dd>
      <dt className="text-slate-600">Signed in</dt>
      <dd>{formatDateTime(session.createdAt)}</dd>
      <dt className="text-slate-600">Last active</dt>
      <dd>{lastActive(session)}</dd>
    </dl>
  );
}

function SignOutRowButton({
  session,
  describedBy,
  disabled,
  onClick,
}: {
  session: SessionDto;
  describedBy: string;
  disabled: boolean;
  onClick: (session: SessionDto) => void;
}) {
  return (
    <Button variant="secondary" size="sm" aria-describedby={describedBy} disabled={disabled} onClick={() => onClick(session)}>
      Sign out
    </Button>
  );
}
