"use client";

import { Bot } from "lucide-react";
import { useActionState, useEffect, useState } from "react";
import { toast } from "sonner";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogTrigger } from "@/components/ui/dialog";
import { Field, FieldErrors, FormMessage, formLevelMessage, inputClass, fieldErrorsFrom } from "@/components/ui/field";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import type { ActionState } from "@/lib/safe-action";
import { SERVICE_ACCOUNT_ROLES } from "@/lib/validation/users";
import { createServiceAccountAction } from "../actions";

/** Users page: Add service account (SPEC §12), a holder of keys for a system rather than a person. */
export function AddServiceAccountDialog() {
  const [open, setOpen] = useState(false);
  const [formKey, setFormKey] = useState(0);
  const close = () => {
    setOpen(false);
    setFormKey((k) => k + 1);
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) setFormKey((k) => k + 1); // a fresh form next time
      }}
    >
      <DialogTrigger asChild>
        <Button variant="secondary">
          <Bot className="h-4 w-4" aria-hidden />
          Add service account
        </Button>
      </DialogTrigger>
      <DialogContent
        title="Add service account"
        description={
          "A service account holds API keys for a system rather than a person, so they outlive whoever set them up. " +
          "It cannot sign in; Owners and Admins manage its keys in the API Access Manager."
        }
      >
        <ServiceAccountForm key={formKey} onDone={close} />
      </DialogContent>
    </Dialog>
  );
}

function ServiceAccountForm({ onDone }: { onDone: () => void }) {
  const confirmed = useConfirmIdentity();
  // Confirm it's you (SPEC §12): a stale sign-in asks the password, then the same submit goes on.
  const [state, formAction, pending] = useActionState<ActionState, FormData>(
    (prev, formData) => confirmed(() => createServiceAccountAction(prev, formData)),
    null,
  );
  useEffect(() => {
    if (!state?.ok) return;
    toast.success(state.message ?? "Service account added.");
    onDone();
  }, [state, onDone]);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="off" required maxLength={100} errors={errors?.name} />
      <div className="space-y-1.5">
        <label htmlFor="service-account-role" className="block text-sm font-medium text-slate-800">
          Role
        </label>
        <select
          id="service-account-role"
          name="role"
          defaultValue="staff"
          className={inputClass}
          aria-invalid={errors?.role ? true : undefined}
        >
          {SERVICE_ACCOUNT_ROLES.map((role) => (
            <option key={role} value={role}>
              {ROLE_LABELS[role]}
            </option>
          ))}
        </select>
        <FieldErrors errors={errors?.role} />
      </div>
      <div className="flex justify-end">
        <Button type="submit" disabled={pending}>
          {pending ? "Adding…" : "Add service account"}
        </Button>
      </div>
    </form>
  );
}
