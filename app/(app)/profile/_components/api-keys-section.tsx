"use client";

import {
  createColumnHelper,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type RowData,
  type SortingState,
} from "@tanstack/react-table";
import { Copy, Eye, EyeOff, QrCode, Settings } from "lucide-react";
import { useMemo, useState, useTransition } from "react";
import { toast } from "sonner";
import { ResponsiveDataTable } from "@/components/data-table/data-cards";
import { KeyStatusBadge } from "@/components/badges";
import { copyPending } from "@/components/ui/clipboard";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm";
import { IconButton } from "@/components/ui/icon-button";
import type { Role } from "@/db/schema";
import { ACCESS_LEVEL_LABELS, can } from "@/lib/auth/permissions";
import { formatDate, formatDateTime } from "@/lib/format";
import { AddApiKeyDialog, LiteExplanation } from "./add-api-key-dialog";
import { EditApiKeyDialog } from "./edit-api-key-dialog";
import { QrCodeDialog } from "./qr-code-dialog";
import { keyState, type ApiKeyDto } from "@/lib/keys/dto";
import { KEY_CONFIRM_TITLES, KEY_TOASTS } from "@/lib/keys/messages";
import { revokePreviousSecretAction } from "../actions";
import { useKeySecret } from "./use-key-secret";

declare module "@tanstack/react-table" {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the generics must match TanStack's declaration
  interface TableMeta<TData extends RowData> {
    /** Profile's keys: the secrets revealed in their rows, by key id. */
    revealedSecrets?: Record<string, string>;
  }
}

const column = createColumnHelper<ApiKeyDto>();
// Eight columns fit the page's 1104 px from a 1280 px screen on with a little less padding.
const PAD = { headerClassName: "px-3", cellClassName: "px-3" };

export function ApiKeysSection({ keys, role, maxLifetimeDays }: { keys: ApiKeyDto[]; role: Role; maxLifetimeDays: number | null }) {
  const [revealed, setRevealed] = useState<Record<string, string>>({});
  const [qr, setQr] = useState<{ name: string; secret: string | null } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [sorting, setSorting] = useState<SortingState>([]);
  const [revoking, setRevoking] = useState<ApiKeyDto | null>(null);
  const [revokePending, startRevoke] = useTransition();
  const loadSecret = useKeySecret();

  const forget = (id: string) => setRevealed(({ [id]: _gone, ...rest }) => rest); // eslint-disable-line @typescript-eslint/no-unused-vars

  const columns = useMemo(
    () => [
      column.accessor("name", {
        header: "Name",
        meta: { ...PAD, card: "title", cellClassName: "px-3 min-w-40 max-w-64" },
        cell: ({ row }) => (
          <>
            <span className="font-medium break-words text-slate-900">{row.original.name}</span>
            {row.original.description ? (
              <p className="mt-1 text-sm leading-snug break-words whitespace-pre-line text-slate-600">{row.original.description}</p>
            ) : null}
          </>
        ),
      }),
      column.display({
        id: "key",
        header: "Key",
        cell: ({ row, table }) => {
          const key = row.original;
          const secret = table.options.meta?.revealedSecrets?.[key.id];
          return (
            <div className="space-y-1.5">
              <code
                className={secret ? "font-mono text-xs break-all text-slate-900" : "font-mono text-xs text-slate-600"}
                data-testid="api-key-value"
              >
                {secret ?? key.maskedKey}
              </code>
              {key.previousSecretExpiresAt ? (
                <div className="max-w-44 space-y-1 rounded-md bg-amber-50 px-2 py-1.5 text-xs text-amber-900" data-testid="previous-secret">
                  <p>The old secret works until {formatDateTime(key.previousSecretExpiresAt)}.</p>
                  <Button variant="secondary" size="sm" className="h-7 px-2 text-xs whitespace-nowrap" onClick={() => setRevoking(key)}>
                    Revoke old secret now
                  </Button>
                </div>
              ) : null}
            </div>
          );
        },
        meta: { ...PAD, cellClassName: "px-3 max-w-[22rem]" },
      }),
      column.accessor("accessLevel", { header: "Access Level", meta: PAD, cell: (c) => ACCESS_LEVEL_LABELS[c.getValue()] }),
      column.accessor("createdAt", {
        header: "Created",
        meta: PAD,
        cell: (c) => <span className="whitespace-nowrap">{formatDate(c.getValue())}</span>,
        sortingFn: "datetime",
      }),
      column.accessor("expiresAt", {
        header: "Expires",
        meta: PAD,
        cell: (c) => (
          <span className="whitespace-nowrap" title={c.getValue() ? formatDateTime(c.getValue()) : undefined}>
            {formatDate(c.getValue())}
          </span>
        ),
        // Never expiring sorts after every date, either way.
        sortUndefined: "last",
        sortingFn: (a, b) => (a.original.expiresAt?.getTime() ?? Infinity) - (b.original.expiresAt?.getTime() ?? Infinity),
      }),
      column.accessor("lastUsedAt", {
        header: "Last used",
        meta: PAD,
        cell: ({ row }) => (
          <span className="whitespace-nowrap">
            <span title={formatDateTime(row.original.lastUsedAt)}>{formatDate(row.original.lastUsedAt)}</span>
            {row.original.lastUsedIp ? (
              <span className="block font-mono text-xs text-slate-600" title="Last used IP address">
                {row.original.lastUsedIp}
              </span>
            ) : null}
          </span>
        ),
        sortUndefined: "last",
      }),
      column.accessor((key) => keyState(key), {
        id: "status",
        header: "Status",
        meta: { ...PAD, card: "aside" },
        cell: ({ row, getValue }) => (
          <KeyStatusBadge status={getValue()} disabledByAdmin={row.original.disabledByAdmin} disabledReason={row.original.disabledReason} />
        ),
      }),
      column.display({
        id: "actions",
        header: "Actions",
        meta: { srOnlyHeader: true, card: "actions", headerClassName: "px-3", cellClassName: "px-3 whitespace-nowrap text-right" },
        cell: ({ row, table }) => {
          const key = row.original;
          const secret = table.options.meta?.revealedSecrets?.[key.id];
          return (
            <div className="flex justify-end gap-1 max-sm:justify-start" role="group" aria-label={`Actions for ${key.name}`}>
              <IconButton
                label={secret ? "Hide" : "Reveal"}
                title={secret ? "Hide" : "Reveal"}
                icon={secret ? EyeOff : Eye}
                onClick={async () => {
                  if (secret) return forget(key.id);
                  const value = await loadSecret(key.id, "reveal");
                  if (value) setRevealed((r) => ({ ...r, [key.id]: value }));
                }}
              />
              <IconButton
                label="Copy"
                title="Copy"
                icon={Copy}
                // The write is handed to the browser now, inside the click; the key follows (WebKit
                // refuses a write made after awaiting the server).
                onClick={() => void copyPending(loadSecret(key.id, "copy"), "API key")}
              />
              <IconButton
                label="QR Code"
                title="QR Code"
                icon={QrCode}
                onClick={async () => {
                  setQr({ name: key.name, secret: null });
                  const value = await loadSecret(key.id, "qr");
                  setQr(value ? { name: key.name, secret: value } : null);
                }}
              />
              <IconButton label="Settings" title="Settings" icon={Settings} onClick={() => setEditing(key.id)} />
            </div>
          );
        },
      }),
    ],
    // Not on `revealed`: the cells read it from the table's meta, so Reveal re-renders them in
    // place (new columns would remount them, and the button pressed would lose the focus).
    [loadSecret],
  );

  const table = useReactTable({
    data: keys,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (row) => row.id,
    meta: { revealedSecrets: revealed },
  });

  const editingKey = keys.find((k) => k.id === editing);

  return (
    <section aria-labelledby="api-keys-heading" className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h2 id="api-keys-heading" className="text-lg font-semibold">
            API keys
          </h2>
          <p className="text-sm text-slate-600">
            Keys let your services call the Latchkey API as you. Send one as the username of HTTP Basic auth.
          </p>
        </div>
        <AddApiKeyDialog role={role} maxLifetimeDays={maxLifetimeDays} />
      </div>
      {can(role, "keys.own") ? (
        <ResponsiveDataTable
          table={table}
          caption="Your API keys"
          empty={
            <>
              <span className="block font-medium text-slate-800">No API keys yet</span>
              <span className="text-sm">Use Add API Key to create your first one.</span>
            </>
          }
        />
      ) : (
        <div className="rounded-lg border border-slate-200 bg-white p-6">
          <LiteExplanation />
        </div>
      )}
      <QrCodeDialog open={qr !== null} onOpenChange={(open) => !open && setQr(null)} name={qr?.name ?? ""} secret={qr?.secret ?? null} />
      <ConfirmDialog
        open={revoking !== null}
        title={KEY_CONFIRM_TITLES.revokePrevious}
        confirmLabel="Revoke"
        pendingLabel="Working…"
        autoFocus
        pending={revokePending}
        onCancel={() => setRevoking(null)}
        onConfirm={() =>
          startRevoke(async () => {
            const result = await revokePreviousSecretAction({ id: revoking!.id });
            if (result?.ok) toast.success(result.message ?? KEY_TOASTS.previousRevoked(revoking!.name));
            else toast.error(result?.message ?? "Could not revoke the old secret.");
            setRevoking(null);
          })
        }
      >
        <p className="text-sm text-slate-700">
          Revoke the old secret of <strong>{revoking?.name}</strong> now? Anything still using it stops working at once; the new secret
          keeps working.
        </p>
      </ConfirmDialog>
      {editingKey ? (
        <EditApiKeyDialog
          key={editingKey.id}
          apiKey={editingKey}
          role={role}
          maxLifetimeDays={maxLifetimeDays}
          open
          onOpenChange={(open) => !open && setEditing(null)}
          onSecretChanged={forget}
        />
      ) : null}
    </section>
  );
}
