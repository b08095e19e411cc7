"use client";

import { createColumnHelper, getCoreRowModel, getSortedRowModel, useReactTable, type SortingState } from "@tanstack/react-table";
import { Copy, Eye, EyeOff, QrCode, Settings } from "lucide-react";
import { useMemo, useState } from "react";
import { DataTable } from "@/components/data-table/data-table";
import { KeyStatusBadge } from "@/components/badges";
import { copyToClipboard } from "@/components/ui/clipboard";
import { IconButton } from "@/components/ui/icon-button";
import type { Role } from "@/db/schema";
import { ACCESS_LEVEL_LABELS, can } from "@/lib/auth/permissions";
import { formatDate, formatDateTime } from "@/lib/format";
import { AddApiKeyDialog, LiteExplanation } from "./add-api-key-dialog";
import { EditApiKeyDialog } from "./edit-api-key-dialog";
import { QrCodeDialog } from "./qr-code-dialog";
import type { ApiKeyDto } from "@/lib/keys/dto";
import { useKeySecret } from "./use-key-secret";

const column = createColumnHelper<ApiKeyDto>();

export function ApiKeysSection({ keys, role }: { keys: ApiKeyDto[]; role: Role }) {
  const [revealed, setRevealed] = useState<Record<string, string>>({});
  const [qr, setQr] = useState<{ name: string; secret: string | null } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [sorting, setSorting] = useState<SortingState>([]);
  const loadSecret = useKeySecret();

  const forget = (id: string) => setRevealed(({ [id]: _gone, ...rest }) => rest); // eslint-disable-line @typescript-eslint/no-unused-vars

  const columns = useMemo(
    () => [
      column.accessor("name", { header: "Name", cell: (c) => <span className="font-medium text-slate-900">{c.getValue()}</span> }),
      column.display({
        id: "key",
        header: "Key",
        cell: ({ row }) => {
          const secret = revealed[row.original.id];
          return (
            <code
              className={secret ? "font-mono text-xs break-all text-slate-900" : "font-mono text-xs text-slate-600"}
              data-testid="api-key-value"
            >
              {secret ?? row.original.maskedKey}
            </code>
          );
        },
        meta: { cellClassName: "max-w-[22rem]" },
      }),
      column.accessor("accessLevel", { header: "Access Level", cell: (c) => ACCESS_LEVEL_LABELS[c.getValue()] }),
      column.accessor("createdAt", { header: "Created", cell: (c) => formatDate(c.getValue()), sortingFn: "datetime" }),
      column.accessor("lastUsedAt", {
        header: "Last used",
        cell: (c) => <span title={formatDateTime(c.getValue())}>{formatDate(c.getValue())}</span>,
        sortUndefined: "last",
      }),
      column.accessor("status", {
        header: "Status",
        cell: ({ row }) => <KeyStatusBadge status={row.original.status} disabledByAdmin={row.original.disabledByAdmin} />,
      }),
      column.display({
        id: "actions",
        header: "Actions",
        meta: { srOnlyHeader: true, cellClassName: "whitespace-nowrap text-right" },
        cell: ({ row }) => {
          const key = row.original;
          const secret = revealed[key.id];
          return (
            <div className="flex justify-end gap-1" role="group" aria-label={`Actions for ${key.name}`}>
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
                onClick={async () => {
                  const value = await loadSecret(key.id, "copy");
                  if (value) await copyToClipboard(value, "API key");
                }}
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
    [revealed, loadSecret],
  );

  const table = useReactTable({
    data: keys,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (row) => row.id,
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
        <AddApiKeyDialog role={role} />
      </div>
      {can(role, "keys.own") ? (
        <DataTable
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
      {editingKey ? (
        <EditApiKeyDialog
          key={editingKey.id}
          apiKey={editingKey}
          role={role}
          open
          onOpenChange={(open) => !open && setEditing(null)}
          onSecretChanged={forget}
        />
      ) : null}
    </section>
  );
}
