"use client";

import { useCallback } from "react";
import { toast } from "sonner";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import type { RevealPurpose } from "@/lib/validation/keys";
import { revealApiKeyAction } from "../actions";

/**
 * Fetches a key's secret for a reveal, a copy or a QR view (each audited on the server), after
 * Confirm it's you when the session's last confirmation is too old.
 */
export function useKeySecret() {
  const confirmed = useConfirmIdentity();
  return useCallback(
    async (id: string, purpose: RevealPurpose): Promise<string | null> => {
      const result = await confirmed(() => revealApiKeyAction({ id, purpose }));
      if (!result?.ok || !result.data) {
        toast.error(result && !result.ok ? result.message : "Could not load the key.");
        return null;
      }
      return result.data.secret;
    },
    [confirmed],
  );
}
