"use client";

import { useActionState, useState, useTransition } from "react";
import { toast } from "sonner";
import { Button } from "@/components/ui/button";
import { Confirm } from "@/components/ui/confirm";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import type { Role } from "@/db/schema";
import { KEY_LOCKED_MESSAGE } from "@/lib/keys/messages";
import type { ActionState } from "@/lib/safe-action";
import { deleteApiKeyAction, regenerateApiKeyAction, renameApiKeyAction, setApiKeyStatusAction, type NewSecret } from "../actions";
import { NewKeySecret } from "./add-api-key-dialog";
import type { ApiKeyDto } from "@/lib/keys/dto";

type View = "edit" | "confirm-regenerate" | "confirm-delete" | "regenerated";

export function EditApiKeyDialog({
  apiKey,
  role,
  open,
  onOpenChange,
  onSecretChanged,
}: {
  apiKey: ApiKeyDto;
  role: Role;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onSecretChanged: (id: string) => void;
}) {
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

  const regenerate = () =>
    run(async () => {
      const result = await regenerateApiKeyAction({ id: apiKey.id });
      if (!result?.ok || !result.data) return setError(result && !result.ok ? result.message : "Could not regenerate.");
      onSecretChanged(apiKey.id);
      setFresh(result.data);
      setView("regenerated");
      toast.success(`"${apiKey.name}" has a new secret; the old one no longer works.`);
    });

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
      const result = await deleteApiKeyAction({ id: apiKey.id });
      if (!result?.ok) return setError(result?.message ?? "Could not delete the key.");
      onSecretChanged(apiKey.id);
      toast.success(`API key "${apiKey.name}" deleted.`);
      close(false);
    });

  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent title="Edit API Key">
        <FormMessage message={error} />
        {view === "edit" ? (
          <div className="space-y-6">
            <RenameForm apiKey={apiKey} />
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
          <Confirm
            confirmLabel="Regenerate"
            pendingLabel="Working…"
            tone="primary"
            autoFocus
            pending={pending}
            onCancel={() => setView("edit")}
            onConfirm={regenerate}
          >
            <p className="text-sm text-slate-700">
              Regenerate <strong>{apiKey.name}</strong>? It gets a new secret at once, and anything still using the old secret stops
              working.
            </p>
          </Confirm>
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

function RenameForm({ apiKey }: { apiKey: ApiKeyDto }) {
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await renameApiKeyAction(prev, formData);
    if (result?.ok) toast.success(result.message ?? "Renamed.");
    return result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-3" noValidate>
      <input type="hidden" name="id" value={apiKey.id} />
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="off" required defaultValue={apiKey.name} errors={errors?.name} />
      <div className="flex justify-end">
        <Button type="submit" variant="secondary" disabled={pending}>
          {pending ? "Updating…" : "Update"}
        </Button>
      </div>
    </form>
  );
}
