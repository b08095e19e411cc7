"use client";

import { Plus } from "lucide-react";
import Link from "next/link";
import { startTransition, useActionState, useId, useState } from "react";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogTrigger } from "@/components/ui/dialog";
import { Field, FieldErrors, FormMessage, formLevelMessage, fieldErrorsFrom, inputClass } from "@/components/ui/field";
import { ShownOnce } from "@/components/ui/shown-once";
import type { Role } from "@/db/schema";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import type { ActionState } from "@/lib/safe-action";
import { AccessLevelField } from "../../../profile/_components/access-level-field";
import { DescriptionField } from "../../../profile/_components/description-field";
import { ExpirationField } from "../../../profile/_components/expiration-field";
import { createServiceAccountKeyAction, type ServiceAccountSecret } from "../actions";

export interface ServiceAccountChoice {
  id: string;
  name: string;
  role: Role;
}

/**
 * Access Manager: Add API Key for a service account (SPEC §12). The Profile's Add API Key fields
 * (Name, Access Level, Expiration, Description) after the choice of account; the secret is shown
 * this once, since nobody can reveal a service account's key later.
 */
export function AddServiceAccountKeyDialog({
  accounts,
  maxLifetimeDays,
}: {
  accounts: ServiceAccountChoice[];
  maxLifetimeDays: number | null;
}) {
  const [open, setOpen] = useState(false);
  const [formKey, setFormKey] = useState(0);
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) setFormKey((k) => k + 1);
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <Plus className="h-4 w-4" aria-hidden />
          Add API Key
        </Button>
      </DialogTrigger>
      <DialogContent title="Add API Key" description="A key held by a service account, for a system rather than a person.">
        {accounts.length ? (
          <ServiceAccountKeyForm key={formKey} accounts={accounts} maxLifetimeDays={maxLifetimeDays} onDone={() => setOpen(false)} />
        ) : (
          <p className="text-sm text-slate-700" role="note">
            There are no service accounts yet. Add one on the{" "}
            <Link href="/admin/users" className="font-medium text-indigo-700 underline">
              Users
            </Link>{" "}
            page first.
          </p>
        )}
      </DialogContent>
    </Dialog>
  );
}

type State = (NonNullable<ActionState<ServiceAccountSecret>> & { name?: string; description?: string }) | null;

function ServiceAccountKeyForm({
  accounts,
  maxLifetimeDays,
  onDone,
}: {
  accounts: ServiceAccountChoice[];
  maxLifetimeDays: number | null;
  onDone: () => void;
}) {
  const confirmed = useConfirmIdentity();
  const accountFieldId = useId();
  const [accountId, setAccountId] = useState(accounts[0]!.id);
  const account = accounts.find((a) => a.id === accountId) ?? accounts[0]!;
  const [state, formAction, pending] = useActionState<State, FormData>(async (_prev, formData) => {
    // Never the previous state: after an Add it holds the new secret, which must not travel back.
    // Confirm it's you (SPEC §12): a stale sign-in asks the password, then the same submit goes on.
    const result = await confirmed(() => createServiceAccountKeyAction(null, formData));
    return { ...result!, name: String(formData.get("name") ?? ""), description: String(formData.get("description") ?? "") };
  }, null);
  if (state?.ok && state.data) {
    return (
      <div className="space-y-4">
        <p className="text-sm text-slate-700">
          API key <strong>{state.data.name}</strong> was added for <strong>{state.data.accountName}</strong>.
        </p>
        <ShownOnce
          what="API key"
          value={state.data.secret}
          qrName={state.data.name}
          warning
          testId="new-api-key"
          notice={
            "Copy the key now and store it where the system that uses it can read it. " +
            "It is not shown again: nobody can reveal a service account's key later."
          }
        />
        <div className="flex justify-end">
          <Button variant="secondary" onClick={onDone}>
            Done
          </Button>
        </div>
      </div>
    );
  }
  const errors = fieldErrorsFrom(state);
  return (
    <form
      className="space-y-4"
      noValidate
      // Submitted by hand, as the Profile's Add API Key is, so a refused submit keeps the choices.
      onSubmit={(event) => {
        event.preventDefault();
        const formData = new FormData(event.currentTarget);
        startTransition(() => formAction(formData));
      }}
    >
      <FormMessage message={formLevelMessage(state)} />
      <div className="space-y-1.5">
        <label htmlFor={accountFieldId} className="block text-sm font-medium text-slate-800">
          Service account
        </label>
        <select
          id={accountFieldId}
          name="account_id"
          value={accountId}
          onChange={(event) => setAccountId(event.target.value)}
          className={inputClass}
          aria-invalid={errors?.account_id ? true : undefined}
        >
          {accounts.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name} ({ROLE_LABELS[a.role]})
            </option>
          ))}
        </select>
        <FieldErrors errors={errors?.account_id} />
      </div>
      <Field
        label="Name"
        name="name"
        autoComplete="off"
        required
        defaultValue={state?.name}
        errors={errors?.name}
        hint="For example the system that will use it."
      />
      {/* Keyed by the account: its role decides which levels are offered. */}
      <AccessLevelField
        key={account.id}
        role={account.role}
        errors={errors?.access_level}
        readOnlyNote={`${account.name} is Read-only, so its keys are Read-only too. Change its role on the Users page.`}
      />
      <ExpirationField maxLifetimeDays={maxLifetimeDays} errors={errors} />
      <DescriptionField defaultValue={state?.description} errors={errors?.description} />
      <div className="flex justify-end">
        <Button type="submit" disabled={pending}>
          {pending ? "Adding…" : "Add"}
        </Button>
      </div>
    </form>
  );
}
