"use client";

import { Plus } from "lucide-react";
import { startTransition, useActionState, useState } from "react";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogTrigger } from "@/components/ui/dialog";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import { ShownOnce } from "@/components/ui/shown-once";
import type { Role } from "@/db/schema";
import { can } from "@/lib/auth/permissions";
import type { ActionState } from "@/lib/safe-action";
import { createApiKeyAction, type NewSecret } from "../actions";
import { AccessLevelField } from "./access-level-field";
import { DescriptionField } from "./description-field";
import { ExpirationField } from "./expiration-field";

export function AddApiKeyDialog({ role, maxLifetimeDays }: { role: Role; maxLifetimeDays: number | null }) {
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
      <DialogContent title="Add API Key">
        {can(role, "keys.own") ? (
          <AddApiKeyForm key={formKey} role={role} maxLifetimeDays={maxLifetimeDays} onDone={() => setOpen(false)} />
        ) : (
          <LiteExplanation />
        )}
      </DialogContent>
    </Dialog>
  );
}

export function LiteExplanation() {
  return (
    <p className="text-sm text-slate-700" role="note">
      Your role is <strong>Lite</strong>, and Lite users cannot have API keys. Ask an admin to change your role to Staff (or Read-only) if
      you need API access.
    </p>
  );
}

type State = (NonNullable<ActionState<NewSecret>> & { name?: string; description?: string }) | null;

function AddApiKeyForm({ role, maxLifetimeDays, onDone }: { role: Role; maxLifetimeDays: number | null; onDone: () => void }) {
  const [state, formAction, pending] = useActionState<State, FormData>(async (_prev, formData) => {
    // Never the previous state: after an Add it holds the new secret, which must not travel back.
    const result = await createApiKeyAction(null, formData);
    return { ...result!, name: String(formData.get("name") ?? ""), description: String(formData.get("description") ?? "") };
  }, null);
  if (state?.ok && state.data) {
    return (
      <div className="space-y-4">
        <p className="text-sm text-slate-700">
          API key <strong>{state.data.name}</strong> was added.
        </p>
        <NewKeySecret name={state.data.name} secret={state.data.secret} />
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
      // Submitted by hand, not as <form action>: React resets a form after its action, which would
      // put the Expiration select back on its first option while the dialog still shows the choice.
      onSubmit={(event) => {
        event.preventDefault();
        const formData = new FormData(event.currentTarget);
        startTransition(() => formAction(formData));
      }}
    >
      <FormMessage message={formLevelMessage(state)} />
      <Field
        label="Name"
        name="name"
        autoComplete="off"
        required
        defaultValue={state?.name}
        errors={errors?.name}
        hint="For example the service that will use it."
      />
      <AccessLevelField role={role} errors={errors?.access_level} />
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

/** A freshly created or regenerated key, shown in full this once, with Copy and QR Code. */
export function NewKeySecret({ name, secret }: { name: string; secret: string }) {
  return (
    <ShownOnce
      what="API key"
      value={secret}
      qrName={name}
      warning
      testId="new-api-key"
      notice="Copy your new key now and keep it somewhere safe. You can reveal it again later from your profile."
    />
  );
}
