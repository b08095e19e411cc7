"use client";

import { Copy, QrCode } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { QRCodeSVG } from "qrcode.react";
import { copyToClipboard } from "./use-key-secret";

/** A freshly created or regenerated key, shown in full this once, with Copy and QR Code. */
export function SecretDisplay({ name, secret }: { name: string; secret: string }) {
  const [showQr, setShowQr] = useState(false);
  return (
    <div className="space-y-3">
      <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" role="status">
        Copy your new key now and keep it somewhere safe. You can reveal it again later from your profile.
      </p>
      <div className="flex items-center gap-2">
        <code data-testid="new-api-key" className="min-w-0 flex-1 rounded-md bg-slate-100 px-3 py-2 font-mono text-xs break-all text-slate-900">
          {secret}
        </code>
        <Button variant="secondary" size="icon" aria-label="Copy" onClick={() => copyToClipboard(secret)}>
          <Copy className="h-4 w-4" aria-hidden />
        </Button>
        <Button
          variant="secondary"
          size="icon"
          aria-label="QR Code"
          aria-expanded={showQr}
          onClick={() => setShowQr((v) => !v)}
        >
          <QrCode className="h-4 w-4" aria-hidden />
        </Button>
      </div>
      {showQr ? (
        <figure className="flex flex-col items-center gap-2 pt-2">
          <QRCodeSVG value={secret} size={200} marginSize={4} level="M" role="img" aria-label={`QR code of the API key ${name}`} data-testid="api-key-qr" />
          <figcaption className="text-sm font-medium">{name}</figcaption>
        </figure>
      ) : null}
    </div>
  );
}
