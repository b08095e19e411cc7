"use client";

import { useId, useState } from "react";
import { Field, FieldErrors, inputClass } from "@/components/ui/field";
import {
  allowedExpirationChoices,
  defaultExpirationChoice,
  EXPIRATION_LABELS,
  expiresAtFor,
  latestAllowedExpiry,
  lifetimeLabel,
  type ExpirationChoice,
} from "@/lib/keys/expiry";
import { formatDateTime } from "@/lib/format";

const isoDay = (date: Date) => date.toISOString().slice(0, 10);

/**
 * Expiration (SPEC §11): the choices the organisation's Maximum key lifetime allows (the others are
 * not offered), and a date for Custom date, which lasts until 23:59:59 UTC that day. The form sends
 * `expiration` and `expiration_date`; createApiKeyFormSchema turns them into expires_at.
 */
export function ExpirationField({
  maxLifetimeDays,
  errors,
}: {
  maxLifetimeDays: number | null;
  errors?: { expiration?: string[]; expiration_date?: string[]; expires_at?: string[] };
}) {
  const id = useId();
  const [choice, setChoice] = useState<ExpirationChoice>(() => defaultExpirationChoice(maxLifetimeDays));
  // Rendered only in an open dialog, in the browser: "now" is the person's now.
  const [now] = useState(() => new Date());
  // Controlled, so a refused submit (React resets a form after its action) keeps what was chosen.
  const [date, setDate] = useState("");
  const allowed = allowedExpirationChoices(maxLifetimeDays);
  const latest = latestAllowedExpiry(maxLifetimeDays, now);
  const at = choice === "custom" ? undefined : expiresAtFor(choice, undefined, now);
  // The service's own refusal (past, over the policy) is reported on expires_at: show it here.
  const choiceErrors = errors?.expiration ?? (choice === "custom" ? undefined : errors?.expires_at);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        Expiration
      </label>
      <select
        id={id}
        name="expiration"
        value={choice}
        onChange={(event) => setChoice(event.target.value as ExpirationChoice)}
        className={inputClass}
        aria-invalid={choiceErrors?.length ? true : undefined}
        aria-describedby={[hintId, choiceErrors?.length ? errorId : null].filter(Boolean).join(" ")}
      >
        {allowed.map((value) => (
          <option key={value} value={value}>
            {EXPIRATION_LABELS[value]}
          </option>
        ))}
      </select>
      <p id={hintId} className="text-xs text-slate-500">
        {at === null
          ? "The key works until you disable or delete it."
          : at
            ? `The key stops working on ${formatDateTime(at)}.`
            : "Choose the last day the key works."}
        {maxLifetimeDays !== null ? ` Your organisation allows keys to live at most ${lifetimeLabel(maxLifetimeDays, "")}.` : null}
      </p>
      <FieldErrors id={errorId} errors={choiceErrors} />
      {choice === "custom" ? (
        <Field
          label="Expiration date"
          name="expiration_date"
          type="date"
          required
          value={date}
          onChange={(event) => setDate(event.target.value)}
          min={isoDay(now)}
          max={latest ? isoDay(latest) : undefined}
          errors={errors?.expiration_date ?? errors?.expires_at}
          hint="The key works until 23:59:59 UTC that day."
          className="pt-2"
        />
      ) : null}
    </div>
  );
}
