"use client";

import { Copy } from "lucide-react";
import { Button } from "@/components/ui/button";
import { copyText } from "@/components/ui/clipboard";

/**
 * Two-factor recovery codes, shown this once (SPEC §12): the server keeps only their digests.
 * Each signs in once when the phone is not at hand.
 */
export function RecoveryCodesList({ codes }: { codes: string[] }) {
  return (
    <div className="space-y-3">
      <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" role="status">
        Save these recovery codes somewhere safe, such as a password manager. Each one signs you in once if you lose your phone. They are
        not shown again.
      </p>
      <ol
        aria-label="Recovery codes"
        data-testid="recovery-codes"
        className="grid grid-cols-2 gap-x-4 gap-y-1 rounded-md bg-slate-100 px-4 py-3"
      >
        {codes.map((code) => (
          <li key={code} className="font-mono text-sm text-slate-900">
            {code}
          </li>
        ))}
      </ol>
      <Button variant="secondary" size="sm" onClick={() => void copyText(codes.join("\n"), "Recovery codes")}>
        <Copy className="h-4 w-4" aria-hidden />
        Copy codes
      </Button>
    </div>
  );
}
