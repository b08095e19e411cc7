"use client";

import { QRCodeSVG } from "qrcode.react";
import { Dialog, DialogContent } from "@/components/ui/dialog";

/** A QR code of a key, for a phone to scan, with the key's name. */
export function QrCodeDialog({
  open,
  onOpenChange,
  name,
  secret,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  name: string;
  secret: string | null;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title="QR Code" description={`Scan to copy the API key "${name}" to another device.`}>
        <figure className="flex flex-col items-center gap-3">
          {secret ? (
            <QRCodeSVG
              value={secret}
              size={240}
              marginSize={4}
              level="M"
              role="img"
              aria-label={`QR code of the API key ${name}`}
              data-testid="api-key-qr"
            />
          ) : (
            <div className="flex h-60 w-60 items-center justify-center text-sm text-slate-500">Loading…</div>
          )}
          <figcaption className="text-sm font-medium text-slate-800">{name}</figcaption>
        </figure>
      </DialogContent>
    </Dialog>
  );
}
