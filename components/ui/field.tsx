import { useId, type InputHTMLAttributes, type ReactNode } from "react";
import { cn } from "./cn";

export const inputClass =
  "block h-10 w-full rounded-md border border-slate-300 bg-white px-3 text-sm text-slate-900 shadow-xs " +
  "placeholder:text-slate-400 focus-visible:border-indigo-600 focus-visible:outline-2 focus-visible:outline-indigo-600/30 " +
  "aria-invalid:border-red-500";

export interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  errors?: string[];
  hint?: ReactNode;
}

/** A labelled input with its hint and its errors, wired for screen readers. */
export function Field({ label, name, errors, hint, className, ...props }: FieldProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [hint ? hintId : null, errors?.length ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={cn("space-y-1.5", className)}>
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <input
        id={id}
        name={name}
        className={inputClass}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={describedBy}
        {...props}
      />
      {hint ? (
        <p id={hintId} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      <FieldErrors id={errorId} errors={errors} />
    </div>
  );
}

export function FieldErrors({ id, errors }: { id?: string; errors?: string[] }) {
  if (!errors?.length) return null;
  return (
    <p id={id} className="text-sm text-red-700" role="alert">
      {errors[0]}
    </p>
  );
}

/**
 * The message to show above a form for an action's result: only when no field error already
 * says it beside its input.
 */
export function formLevelMessage(
  state: { ok: boolean; message?: string; fieldErrors?: Record<string, string[] | undefined> } | null,
): string | null {
  if (!state || state.ok) return null;
  return state.fieldErrors && Object.keys(state.fieldErrors).length > 0 ? null : (state.message ?? null);
}

/** The per-field errors of an action's result, for the form's fields. */
export function fieldErrorsFrom(state: { ok: boolean; fieldErrors?: Record<string, string[] | undefined> } | null) {
  return state && !state.ok ? state.fieldErrors : undefined;
}

/** A form-level message (the action's overall result). */
export function FormMessage({ message, tone = "error" }: { message?: string | null; tone?: "error" | "info" }) {
  if (!message) return null;
  return (
    <p
      role={tone === "error" ? "alert" : "status"}
      className={cn("rounded-md px-3 py-2 text-sm", tone === "error" ? "bg-red-50 text-red-800" : "bg-slate-100 text-slate-800")}
    >
      {message}
    </p>
  );
}
