"use client";

import { useState, useTransition, type ReactNode } from "react";
import { toast } from "sonner";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { RoleBadge } from "@/components/badges";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import { ShownOnce } from "@/components/ui/shown-once";
import { ConfirmDialog } from "@/components/ui/confirm";
import { FormMessage, inputClass } from "@/components/ui/field";
import { Td, Th } from "@/components/ui/table";
import { ScrollRegion } from "@/components/data-table/scroll-region";
import { cn } from "@/components/ui/cn";
import type { Role } from "@/db/schema";
import { allowedAccessLevels, INVITABLE_ROLES, ROLE_LABELS } from "@/lib/auth/permissions";
import { formatDate } from "@/lib/format";
import type { UserListItem } from "@/lib/users/service";
import { SERVICE_ACCOUNT_ROLES } from "@/lib/validation/users";
import {
  changeRoleAction,
  previewRemovalAction,
  previewRoleChangeAction,
  removeUserAction,
  signOutEverywhereAction,
  transferOwnershipAction,
  type KeyPreview,
  type MovedKeySecret,
} from "../actions";

/** A user as the service lists them, with what the viewer may do to them. */
export interface UserRow extends UserListItem {
  isYou: boolean;
  /** Change role and remove (never the Owner, never oneself). */
  canManage: boolean;
  /** Only the Owner transfers ownership, to someone else. */
  canTransfer: boolean;
  /** Sign out everywhere (never oneself, never the Owner unless you are the Owner). */
  canSignOut: boolean;
}

type Pending =
  | { kind: "role"; user: UserRow; role: Role; keys: KeyPreview[] | null }
  /** `moves`: key id -> the service account it moves to (absent: deleted). */
  | { kind: "remove"; user: UserRow; keys: KeyPreview[] | null; moves: Record<string, string> }
  | { kind: "transfer"; user: UserRow }
  | { kind: "signout"; user: UserRow };

/** How a confirmation names a user: a person by name and email; a service account (its address is internal) by name. */
function Who({ user }: { user: UserRow }) {
  return (
    <>
      <strong>{user.name}</strong>
      {user.kind === "person" ? ` (${user.email})` : " (service account)"}
    </>
  );
}

const TITLES: Record<Pending["kind"], string> = {
  role: "Change role",
  remove: "Remove user",
  transfer: "Transfer ownership",
  signout: "Sign out everywhere",
};

/** A service account a departing person's key can move to. */
export interface ServiceAccountOption {
  id: string;
  name: string;
  role: Role;
}

export function UsersTable({ users, serviceAccounts = [] }: { users: UserRow[]; serviceAccounts?: ServiceAccountOption[] }) {
  const [movedSecrets, setMovedSecrets] = useState<MovedKeySecret[]>([]);
  const confirmed = useConfirmIdentity();
  const [pending, setPending] = useState<Pending | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [working, startWork] = useTransition();

  const close = () => {
    if (working) return;
    setPending(null);
    setError(null);
  };

  const loadKeys = (next: Pending) =>
    startWork(async () => {
      if (next.kind === "transfer" || next.kind === "signout") return;
      const result =
        next.kind === "role"
          ? await previewRoleChangeAction({ userId: next.user.id, role: next.role })
          : await previewRemovalAction({ userId: next.user.id });
      if (result?.ok && result.data) setPending({ ...next, keys: result.data.keys });
      else setError(result?.message ?? "Could not load the user's keys.");
    });

  const open = (next: Pending) => {
    setError(null);
    setPending(next);
    loadKeys(next);
  };

  const confirm = () =>
    startWork(async () => {
      if (!pending) return;
      const result = await confirmed(async () =>
        pending.kind === "role"
          ? await changeRoleAction({
              userId: pending.user.id,
              role: pending.role,
              confirmedKeyIds: (pending.keys ?? []).map((k) => k.id),
            })
          : pending.kind === "remove"
            ? await removeUserAction({
                userId: pending.user.id,
                moves: Object.entries(pending.moves).map(([keyId, accountId]) => ({ keyId, accountId })),
              })
            : pending.kind === "signout"
              ? await signOutEverywhereAction({ userId: pending.user.id })
              : await transferOwnershipAction({ userId: pending.user.id }),
      );
      if (result?.ok) {
        toast.success(result.message ?? "Done.");
        const moved = result.data && "moved" in result.data ? result.data.moved : [];
        if (moved.length) setMovedSecrets(moved);
        setPending(null);
        setError(null);
        return;
      }
      setError(result?.message ?? "Something went wrong. Please try again.");
      // The keys may have changed since the list was shown (that is what a conflict says).
      if (pending.kind === "role" || pending.kind === "remove") loadKeys({ ...pending, keys: null });
    });

  return (
    <>
      <ScrollRegion label="Users">
        <table className="w-full min-w-max border-collapse text-left text-sm">
          <caption className="sr-only">Users</caption>
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Email</Th>
              <Th>Role</Th>
              <Th className="text-right">Keys</Th>
              <Th>Joined</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => {
              const nameId = `user-${user.id}-name`;
              return (
                <tr key={user.id}>
                  <Td className="font-medium">
                    <span id={nameId}>{user.name}</span>
                    {user.isYou ? <span className="ml-2 text-xs text-slate-500">(you)</span> : null}
                    {user.kind === "service_account" ? (
                      <span className="ml-2">
                        <Badge>Service account</Badge>
                      </span>
                    ) : null}
                  </Td>
                  <Td>
                    {user.kind === "person" ? (
                      user.email
                    ) : (
                      <span className="text-slate-500">
                        <span aria-hidden>—</span>
                        <span className="sr-only">None: a service account cannot sign in</span>
                      </span>
                    )}
                  </Td>
                  <Td>
                    {user.canManage ? (
                      <select
                        aria-label="Role"
                        aria-describedby={nameId}
                        value={user.role}
                        disabled={working}
                        className={cn(inputClass, "h-9 w-auto pr-8")}
                        onChange={(e) => open({ kind: "role", user, role: e.target.value as Role, keys: null })}
                      >
                        {(user.kind === "service_account" ? SERVICE_ACCOUNT_ROLES : INVITABLE_ROLES).map((role) => (
                          <option key={role} value={role}>
                            {ROLE_LABELS[role]}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <RoleBadge role={user.role} />
                    )}
                  </Td>
                  <Td className="text-right tabular-nums">{user.keyCount}</Td>
                  <Td className="whitespace-nowrap">{formatDate(user.createdAt)}</Td>
                  <Td>
                    {/* At most two buttons a line, so the table still fits a laptop screen. */}
                    <div className="ml-auto flex max-w-[22rem] flex-wrap justify-end gap-2">
                      {user.canTransfer ? (
                        <Button
                          variant="secondary"
                          size="sm"
                          aria-describedby={nameId}
                          disabled={working}
                          onClick={() => open({ kind: "transfer", user })}
                        >
                          Transfer ownership
                        </Button>
                      ) : null}
                      {user.canSignOut ? (
                        <Button
                          variant="secondary"
                          size="sm"
                          aria-describedby={nameId}
                          disabled={working}
                          onClick={() => open({ kind: "signout", user })}
                        >
                          Sign out everywhere
                        </Button>
                      ) : null}
                      {user.canManage ? (
                        <Button
                          variant="secondary"
                          size="sm"
                          className="text-red-700"
                          aria-describedby={nameId}
                          disabled={working}
                          onClick={() => open({ kind: "remove", user, keys: null, moves: {} })}
                        >
                          Remove
                        </Button>
                      ) : null}
                    </div>
                  </Td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>

      <ConfirmDialog
        open={pending !== null}
        title={pending ? TITLES[pending.kind] : ""}
        confirmLabel={pending ? (pending.kind === "remove" ? "Remove" : TITLES[pending.kind]) : ""}
        tone={pending?.kind === "transfer" ? "primary" : "danger"}
        pending={working}
        confirmDisabled={(pending?.kind === "role" || pending?.kind === "remove") && pending.keys === null}
        onCancel={close}
        onConfirm={confirm}
      >
        {pending ? (
          <>
            <FormMessage message={error} />
            {pending.kind === "role" ? (
              <>
                <p className="text-sm text-slate-700">
                  Change the role of <Who user={pending.user} /> from <strong>{ROLE_LABELS[pending.user.role]}</strong> to{" "}
                  <strong>{ROLE_LABELS[pending.role]}</strong>? It applies from their next request.
                </p>
                <KeysToDelete
                  keys={pending.keys}
                  intro={
                    pending.role === "lite"
                      ? "Lite users cannot have API keys. These keys are deleted:"
                      : "Read-only users cannot keep Read & Write keys. These keys are deleted:"
                  }
                  none="No API keys are deleted."
                />
              </>
            ) : null}
            {pending.kind === "remove" ? (
              <>
                <p className="text-sm text-slate-700">
                  Remove <Who user={pending.user} />?{" "}
                  {pending.user.kind === "person"
                    ? "They are signed out at once and can no longer sign in."
                    : "Its keys stop working at once."}
                </p>
                {serviceAccounts.some((a) => a.id !== pending.user.id) && pending.keys?.length ? (
                  <KeysOnRemoval
                    keys={pending.keys}
                    accounts={serviceAccounts.filter((a) => a.id !== pending.user.id)}
                    moves={pending.moves}
                    disabled={working}
                    onChange={(keyId, accountId) => {
                      const moves = { ...pending.moves };
                      if (accountId) moves[keyId] = accountId;
                      else delete moves[keyId];
                      setPending({ ...pending, moves });
                    }}
                  />
                ) : (
                  <KeysToDelete keys={pending.keys} intro="Their API keys are deleted too:" none="They have no API keys." />
                )}
              </>
            ) : null}
            {pending.kind === "signout" ? (
              <p className="text-sm text-slate-700">
                Sign <Who user={pending.user} /> out of every session? Their next request in each browser goes to the sign-in page. Their
                API keys keep working.
              </p>
            ) : null}
            {pending.kind === "transfer" ? (
              <p className="text-sm text-slate-700">
                Make <Who user={pending.user} /> the Owner of this Latchkey? You become an Admin, and only the new Owner can transfer
                ownership again.
              </p>
            ) : null}
          </>
        ) : null}
      </ConfirmDialog>

      <Dialog open={movedSecrets.length > 0} onOpenChange={(next) => (next ? null : setMovedSecrets([]))}>
        <DialogContent
          title="Moved API keys"
          description="Each moved key has a new secret: the old one no longer works. Put the new ones where the keys are used."
        >
          <div className="space-y-4">
            {movedSecrets.map((key, i) => (
              <div key={key.id} className="space-y-1">
                <p className="text-sm text-slate-700">
                  <strong className="break-all">{key.name}</strong>, now held by <strong>{key.accountName}</strong>
                </p>
                <ShownOnce
                  what={`New secret of ${key.name}`}
                  value={key.secret}
                  warning={i === 0}
                  testId="moved-api-key"
                  notice={i === 0 ? "Copy each new secret now: nobody can reveal a service account's key later." : null}
                />
              </div>
            ))}
            <div className="flex justify-end">
              <Button variant="secondary" onClick={() => setMovedSecrets([])}>
                Done
              </Button>
            </div>
          </div>
        </DialogContent>
      </Dialog>
    </>
  );
}

/** Removing a person: for each of their keys, delete it or move it to a service account whose role allows its level. */
function KeysOnRemoval({
  keys,
  accounts,
  moves,
  disabled,
  onChange,
}: {
  keys: KeyPreview[];
  accounts: ServiceAccountOption[];
  moves: Record<string, string>;
  disabled: boolean;
  onChange: (keyId: string, accountId: string) => void;
}) {
  return (
    <div className="space-y-2 text-sm">
      <p className="text-slate-700">
        Choose what happens to each of their API keys. A moved key gets a new secret, shown once: their copy stops working at once.
      </p>
      <ul aria-label="Their API keys" className="space-y-2">
        {keys.map((key) => (
          <li key={key.id} className="flex flex-wrap items-center justify-between gap-2">
            <span className="break-all">{key.name}</span>
            <select
              aria-label={`What happens to ${key.name}`}
              value={moves[key.id] ?? ""}
              disabled={disabled}
              className={cn(inputClass, "h-9 w-auto pr-8")}
              onChange={(e) => onChange(key.id, e.target.value)}
            >
              <option value="">Delete</option>
              {accounts
                .filter((a) => allowedAccessLevels(a.role).includes(key.accessLevel))
                .map((a) => (
                  <option key={a.id} value={a.id}>
                    Move to {a.name}
                  </option>
                ))}
            </select>
          </li>
        ))}
      </ul>
    </div>
  );
}

function KeysToDelete({ keys, intro, none }: { keys: KeyPreview[] | null; intro: string; none: ReactNode }) {
  if (keys === null) {
    return (
      <p className="text-sm text-slate-600" role="status">
        Checking their API keys…
      </p>
    );
  }
  if (keys.length === 0) return <p className="text-sm text-slate-700">{none}</p>;
  return (
    <div className="space-y-2 rounded-md bg-red-50 px-3 py-2 text-sm text-red-900">
      <p>{intro}</p>
      <ul aria-label="API keys to be deleted" className="list-disc space-y-0.5 pl-5">
        {keys.map((key) => (
          <li key={key.id} className="break-all">
            {key.name}
          </li>
        ))}
      </ul>
    </div>
  );
}
