"use client";

import { QRCodeSVG } from "qrcode.react";
import { useState, type FormEvent } from "react";
import { Button } from "@/components/ui/button";
import { Field } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";
import { RecoveryCodesList } from "./recovery-codes-list";

export interface TwoFactorSecret {
  /** The otpauth:// URI the QR code carries. */
  uri: string;
  /** The same secret, to type into the app instead of scanning. */
  setupKey: string;
}

type EnableAction = (input: { code: string }) => Promise<ActionState<{ recoveryCodes: string[] }>>;

/**
 * Set up two-factor authentication (SPEC §12), once the server has made a secret: the QR code and
 * the **Setup key**, the **Authentication code** field and **Turn on**; then the 10 recovery codes,
 * shown once, and Done. Used in Profile's dialog and on the page a person the policy holds back
 * is sent to.
 */
export function TwoFactorSetup({
  secret,
  enable,
  onFinished,
  finishLabel = "Done",
}: {
  secret: TwoFactorSecret;
  enable: EnableAction;
  onFinished: () => void;
  finishLabel?: string;
}) {
  const [state, setState] = useState<ActionState<{ recoveryCodes: string[] }>>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get("code") ?? "");
    setPending(true);
    try {
      setState(await enable({ code }));
    } catch {
      setState({ ok: false, message: "Something went wrong. Please try again." });
    } finally {
      setPending(false);
    }
  }

  if (state?.ok && state.data) {
    return (
      <div className="space-y-4">
        <p className="text-sm font-medium text-slate-900">Two-factor authentication is on.</p>
        <RecoveryCodesList codes={state.data.recoveryCodes} />
        <div className="flex justify-end">
          <Button onClick={onFinished}>{finishLabel}</Button>
        </div>
      </div>
    );
  }

  const fieldError = state && !state.ok ? (state.fieldErrors?.code ?? [state.message]) : undefined;
  return (
    <div className="space-y-4">
      <ol className="list-decimal space-y-1 pl-5 text-sm text-slate-700">
        <li>Scan this QR code with an authenticator app (such as 1Password, Google Authenticator or Microsoft Authenticator).</li>
        <li>Enter the 6-digit code the app shows.</li>
      </ol>
      <figure className="flex flex-col items-center gap-2">
        <QRCodeSVG
          value={secret.uri}
          size={200}
          marginSize={4}
          level="M"
          role="img"
          aria-label="QR code for your authenticator app"
          data-testid="two-factor-qr"
        />
      </figure>
      <div className="space-y-1">
        <p className="text-sm font-medium text-slate-800" id="setup-key-label">
          Setup key
        </p>
        <p className="text-xs text-slate-600">Can&apos;t scan? Type this key into the app instead.</p>
        <code
          aria-labelledby="setup-key-label"
          data-testid="setup-key"
          className="block rounded-md bg-slate-100 px-3 py-2 font-mono text-sm break-words text-slate-900"
        >
          {secret.setupKey}
        </code>
      </div>
      <form onSubmit={submit} className="space-y-4" noValidate>
        <Field label="Authentication code" name="code" autoComplete="one-time-code" inputMode="numeric" required errors={fieldError} />
        <div className="flex justify-end">
          <Button type="submit" disabled={pending}>
            {pending ? "Turning on…" : "Turn on"}
          </Button>
        </div>
      </form>
    </div>
  );
}
