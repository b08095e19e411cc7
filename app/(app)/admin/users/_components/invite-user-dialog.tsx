"use client";

import { UserPlus } from "lucide-react";
import { useActionState, useState } from "react";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogTrigger } from "@/components/ui/dialog";
import { Field, FieldErrors, FormMessage, formLevelMessage, inputClass, fieldErrorsFrom } from "@/components/ui/field";
import { ShownOnce } from "@/components/ui/shown-once";
import { INVITABLE_ROLES, ROLE_LABELS } from "@/lib/auth/permissions";
import { formatDate } from "@/lib/format";
import type { ActionState } from "@/lib/safe-action";
import { createInviteAction } from "../actions";

type State = ActionState<{ path: string; expiresAt: Date }>;

export function InviteUserDialog() {
  const [open, setOpen] = useState(false);
  const [formKey, setFormKey] = useState(0);
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) setFormKey((k) => k + 1); // a fresh form next time
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <UserPlus className="h-4 w-4" aria-hidden />
          Invite user
        </Button>
      </DialogTrigger>
      <DialogContent
        title="Invite user"
        description="Create a one-time link that lets someone join with the role you choose. It expires after 7 days."
      >
        <InviteForm key={formKey} />
      </DialogContent>
    </Dialog>
  );
}

function InviteForm() {
  const confirmed = useConfirmIdentity();
  const [state, formAction, pending] = useActionState<State, FormData>(
    (previous, formData) => confirmed(() => createInviteAction(previous, formData)),
    null,
  );
  if (state?.ok && state.data) {
    const link = `${window.location.origin}${state.data.path}`;
    return (
      <ShownOnce
        what="Invite link"
        value={link}
        field
        copyLabel="Copy invite link"
        notice={<>Invite created. Send this link to the person; it works once and expires on {formatDate(state.data.expiresAt)}.</>}
      />
    );
  }
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Email" name="email" type="email" autoComplete="off" required errors={errors?.email} />
      <div className="space-y-1.5">
        <label htmlFor="invite-role" className="block text-sm font-medium text-slate-800">
          Role
        </label>
        <select id="invite-role" name="role" defaultValue="staff" className={inputClass} aria-invalid={errors?.role ? true : undefined}>
          {INVITABLE_ROLES.map((role) => (
            <option key={role} value={role}>
              {ROLE_LABELS[role]}
            </option>
          ))}
        </select>
        <FieldErrors errors={errors?.role} />
      </div>
      <div className="flex justify-end">
        <Button type="submit" disabled={pending}>
          {pending ? "Creating…" : "Create invite"}
        </Button>
      </div>
    </form>
  );
}
