"use client";

import { useActionState, useRef, useState, useTransition } from "react";
import { toast } from "sonner";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { Confirm } from "@/components/ui/confirm";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import { Field, FieldErrors, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import type { Role } from "@/db/schema";
import { keyState, type ApiKeyDto } from "@/lib/keys/dto";
import { GRACE_PERIOD_CHOICES, GRACE_PERIOD_LABELS } from "@/lib/keys/expiry";
import { KEY_CONFIRM_TITLES, KEY_LOCKED_MESSAGE, KEY_TOASTS } from "@/lib/keys/messages";
import { formatDateTime } from "@/lib/format";
import type { ActionState } from "@/lib/safe-action";
import { deleteApiKeyAction, editApiKeyAction, regenerateApiKeyAction, setApiKeyStatusAction, type NewSecret } from "../actions";
import { NewKeySecret } from "./add-api-key-dialog";
import { DescriptionField } from "./description-field";
import { ExpirationField } from "./expiration-field";

type View = "edit" | "confirm-regenerate" | "confirm-delete" | "regenerated";

/** The dialog is titled by what it is doing: editing, or asking to confirm (then by what it confirms). */
const TITLES: Record<View, string> = {
  edit: "Edit API Key",
  "confirm-regenerate": KEY_CONFIRM_TITLES.regenerate,
  "confirm-delete": KEY_CONFIRM_TITLES.delete,
  regenerated: "Edit API Key",
};

export function EditApiKeyDialog({
  apiKey,
  role,
  maxLifetimeDays,
  open,
  onOpenChange,
  onSecretChanged,
}: {
  apiKey: ApiKeyDto;
  role: Role;
  maxLifetimeDays: number | null;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onSecretChanged: (id: string) => void;
}) {
  const confirmed = useConfirmIdentity();
  const [view, setView] = useState<View>("edit");
  const [fresh, setFresh] = useState<NewSecret | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  // SPEC §10's admin lock: a key someone else disabled is enabled again by an Owner or another
  // Admin, never by its holder, unless the holder is the Owner (the service decides the same).
  const locked = apiKey.status === "disabled" && apiKey.disabledByAdmin && role !== "owner";

  const close = (next: boolean) => {
    onOpenChange(next);
    if (!next) {
      setView("edit");
      setFresh(null);
      setError(null);
    }
  };

  const run = (work: () => Promise<void>) => startTransition(work);

  const regenerated = (result: NewSecret) => {
    onSecretChanged(apiKey.id);
    setFresh(result);
    setView("regenerated");
    toast.success(
      KEY_TOASTS.regenerated(apiKey.name, result.previousSecretExpiresAt ? formatDateTime(result.previousSecretExpiresAt) : null),
    );
  };

  const toggleStatus = () =>
    run(async () => {
      const status = apiKey.status === "active" ? "disabled" : "active";
      const result = await setApiKeyStatusAction({ id: apiKey.id, status });
      if (!result?.ok) return setError(result?.message ?? "Could not change the status.");
      toast.success(result.message ?? "Status changed.");
      close(false);
    });

  const remove = () =>
    run(async () => {
      const result = await confirmed(() => deleteApiKeyAction({ id: apiKey.id }));
      if (!result?.ok) return setError(result?.message ?? "Could not delete the key.");
      onSecretChanged(apiKey.id);
      toast.success(KEY_TOASTS.deleted(apiKey.name));
      close(false);
    });

  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent title={TITLES[view]}>
        <FormMessage message={error} />
        {view === "edit" ? (
          <div className="space-y-6">
            <EditForm apiKey={apiKey} />
            <div className="space-y-3 border-t border-slate-200 pt-4">
              {locked ? (
                <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" role="note">
                  {KEY_LOCKED_MESSAGE}
                </p>
              ) : null}
              <div className="flex flex-wrap gap-2">
                <Button variant="secondary" disabled={pending} onClick={() => setView("confirm-regenerate")}>
                  Regenerate
                </Button>
                <Button variant="secondary" disabled={pending || locked} onClick={toggleStatus}>
                  {apiKey.status === "active" ? "Disable" : "Enable"}
                </Button>
                <Button variant="danger" disabled={pending} onClick={() => setView("confirm-delete")} className="sm:ml-auto">
                  Delete
                </Button>
              </div>
            </div>
          </div>
        ) : null}
        {view === "confirm-regenerate" ? (
          <RegenerateConfirm apiKey={apiKey} maxLifetimeDays={maxLifetimeDays} onCancel={() => setView("edit")} onDone={regenerated} />
        ) : null}
        {view === "confirm-delete" ? (
          <Confirm
            confirmLabel="Delete"
            pendingLabel="Working…"
            autoFocus
            pending={pending}
            onCancel={() => setView("edit")}
            onConfirm={remove}
          >
            <p className="text-sm text-slate-700">
              Delete <strong>{apiKey.name}</strong>? This is permanent: anything using it stops working.
            </p>
          </Confirm>
        ) : null}
        {view === "regenerated" && fresh ? (
          <div className="space-y-4">
            <NewKeySecret name={fresh.name} secret={fresh.secret} />
            {fresh.previousSecretExpiresAt ? (
              <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" role="note">
                The old secret keeps working until <strong>{formatDateTime(fresh.previousSecretExpiresAt)}</strong>. Once nothing uses it,
                end it with <strong>Revoke old secret now</strong> on the key&apos;s row.
              </p>
            ) : null}
            <div className="flex justify-end">
              <Button variant="secondary" onClick={() => close(false)}>
                Done
              </Button>
            </div>
          </div>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

/** Name and Description, saved together (editApiKeySchema, one transaction). */
function EditForm({ apiKey }: { apiKey: ApiKeyDto }) {
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await editApiKeyAction(prev, formData);
    if (result?.ok) toast.success(result.message ?? "Saved.");
    return result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-3" noValidate>
      <input type="hidden" name="id" value={apiKey.id} />
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="off" required defaultValue={apiKey.name} errors={errors?.name} />
      <DescriptionField defaultValue={apiKey.description} errors={errors?.description} />
      <div className="flex justify-end">
        <Button type="submit" variant="secondary" disabled={pending}>
          {pending ? "Updating…" : "Update"}
        </Button>
      </div>
    </form>
  );
}

/**
 * Regenerate's confirmation: Keep the old secret working for (an active key: its secret works now,
 * so it can keep working a while), and a new Expiration for an expired key, which then works again.
 */
function RegenerateConfirm({
  apiKey,
  maxLifetimeDays,
  onCancel,
  onDone,
}: {
  apiKey: ApiKeyDto;
  maxLifetimeDays: number | null;
  onCancel: () => void;
  onDone: (result: NewSecret) => void;
}) {
  const confirmed = useConfirmIdentity();
  const state = keyState(apiKey);
  const [grace, setGrace] = useState<number>(0);
  const [result, setResult] = useState<ActionState<NewSecret>>(null);
  const [pending, startTransition] = useTransition();
  const form = useRef<HTMLFormElement>(null);
  const errors = fieldErrorsFrom(result);

  const submit = () =>
    startTransition(async () => {
      const data = new FormData(form.current!);
      const answer = await confirmed(() => regenerateApiKeyAction(null, data));
      if (answer?.ok && answer.data) onDone(answer.data);
      else setResult(answer ?? { ok: false, message: "Could not regenerate." });
    });

  return (
    <form
      ref={form}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <input type="hidden" name="id" value={apiKey.id} />
      <Confirm
        confirmLabel="Regenerate"
        pendingLabel="Working…"
        tone="primary"
        autoFocus={state === "disabled"}
        pending={pending}
        onCancel={onCancel}
        onConfirm={submit}
      >
        <p className="text-sm text-slate-700">
          Regenerate <strong>{apiKey.name}</strong>? It gets a new secret at once
          {state === "expired"
            ? " and works again until the expiration you choose."
            : grace > 0
              ? `; the old secret keeps working for ${GRACE_PERIOD_LABELS[grace as keyof typeof GRACE_PERIOD_LABELS]}, ` +
                "time to move what uses it to the new one."
              : ", and anything still using the old secret stops working."}
        </p>
        <FormMessage message={formLevelMessage(result)} />
        {state === "active" ? (
          <fieldset className="space-y-2">
            <legend className="mb-1.5 text-sm font-medium text-slate-800">Keep the old secret working for</legend>
            <div className="grid grid-cols-2 gap-2">
              {GRACE_PERIOD_CHOICES.map((seconds) => (
                <label
                  key={seconds}
                  className={cn(
                    "flex cursor-pointer items-center gap-2 rounded-md border border-slate-200 px-3 py-2 text-sm",
                    "has-checked:border-indigo-600 has-checked:bg-indigo-50/50",
                  )}
                >
                  <input
                    type="radio"
                    name="grace_period_seconds"
                    value={seconds}
                    checked={grace === seconds}
                    autoFocus={seconds === 0}
                    onChange={() => setGrace(seconds)}
                    className="accent-indigo-600"
                  />
                  {GRACE_PERIOD_LABELS[seconds]}
                </label>
              ))}
            </div>
            <FieldErrors errors={errors?.grace_period_seconds} />
          </fieldset>
        ) : null}
        {state === "expired" ? (
          <div className="space-y-2">
            <p className="text-sm text-slate-700">This key has expired. Choose when the regenerated key expires:</p>
            <ExpirationField maxLifetimeDays={maxLifetimeDays} errors={errors} />
          </div>
        ) : null}
      </Confirm>
    </form>
  );
}
