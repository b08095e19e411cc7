"use client";

import { Copy, QrCode } from "lucide-react";
import { QRCodeSVG } from "qrcode.react";
import { useId, useState, type ReactNode } from "react";
import { copyText } from "./clipboard";
import { inputClass } from "./field";
import { IconButton } from "./icon-button";

/**
 * A secret or a link shown in full this once (a new API key, an invite link), with Copy and, for
 * a key, a QR code to scan. The server never sends it again; the notice says what to do with it.
 */
export function ShownOnce({
  what,
  value,
  notice,
  warning = false,
  field = false,
  copyLabel = "Copy",
  qrName,
  testId,
}: {
  /** What the value is ("API key", "Invite link"): the field's label and the copy toast's subject. */
  what: string;
  value: string;
  notice: ReactNode;
  /** The notice is a warning (a secret to keep safe) rather than a plain note. */
  warning?: boolean;
  /** Shown as a labelled read-only field (a link, selected on focus) rather than a block of code. */
  field?: boolean;
  copyLabel?: string;
  /** Offer a QR code, captioned with this name. */
  qrName?: string;
  testId?: string;
}) {
  const id = useId();
  const [showQr, setShowQr] = useState(false);
  return (
    <div className="space-y-3">
      <p className={warning ? "rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" : "text-sm text-slate-700"} role="status">
        {notice}
      </p>
      {field ? (
        <label className="block text-sm font-medium text-slate-800" htmlFor={id}>
          {what}
        </label>
      ) : null}
      <div className={field ? "flex gap-2" : "flex items-center gap-2"}>
        {field ? (
          <input
            id={id}
            readOnly
            value={value}
            className={`${inputClass} font-mono text-xs`}
            onFocus={(e) => e.currentTarget.select()}
            data-testid={testId}
          />
        ) : (
          <code
            data-testid={testId}
            className="min-w-0 flex-1 rounded-md bg-slate-100 px-3 py-2 font-mono text-xs break-all text-slate-900"
          >
            {value}
          </code>
        )}
        <IconButton variant="secondary" label={copyLabel} icon={Copy} onClick={() => void copyText(value, what)} />
        {qrName !== undefined ? (
          <IconButton variant="secondary" label="QR Code" icon={QrCode} aria-expanded={showQr} onClick={() => setShowQr((v) => !v)} />
        ) : null}
      </div>
      {qrName !== undefined && showQr ? (
        <figure className="flex flex-col items-center gap-2 pt-2">
          <QRCodeSVG
            value={value}
            size={200}
            marginSize={4}
            level="M"
            role="img"
            aria-label={`QR code of the ${what} ${qrName}`}
            data-testid="api-key-qr"
          />
          <figcaption className="text-sm font-medium">{qrName}</figcaption>
        </figure>
      ) : null}
    </div>
  );
}
