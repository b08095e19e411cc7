"use client";

import { FieldErrors } from "@/components/ui/field";
import type { Role } from "@/db/schema";
import { ACCESS_LEVEL_LABELS, ACCESS_LEVELS, allowedAccessLevels } from "@/lib/auth/permissions";
import { cn } from "@/components/ui/cn";

const DESCRIPTIONS = {
  read_only: "Can read data through the API.",
  read_write: "Can read and change data through the API.",
} as const;

/** `readOnlyNote`: why only Read-only is offered, when the key is not the viewer's own (a service account's). */
export function AccessLevelField({ role, errors, readOnlyNote }: { role: Role; errors?: string[]; readOnlyNote?: string }) {
  const allowed = allowedAccessLevels(role);
  return (
    <fieldset className="space-y-2">
      <legend className="mb-1.5 text-sm font-medium text-slate-800">Access Level</legend>
      {ACCESS_LEVELS.map((level) => {
        const disabled = !allowed.includes(level);
        return (
          <label
            key={level}
            className={cn(
              "flex cursor-pointer items-start gap-3 rounded-md border border-slate-200 p-3",
              "has-checked:border-indigo-600 has-checked:bg-indigo-50/50 has-disabled:cursor-not-allowed has-disabled:opacity-60",
            )}
          >
            <input
              type="radio"
              name="access_level"
              value={level}
              defaultChecked={level === "read_only"}
              disabled={disabled}
              className="mt-0.5 accent-indigo-600"
            />
            <span>
              <span className="block text-sm font-medium text-slate-900">{ACCESS_LEVEL_LABELS[level]}</span>
              <span className="block text-xs text-slate-600">{DESCRIPTIONS[level]}</span>
            </span>
          </label>
        );
      })}
      {role === "read_only" ? (
        <p className="text-xs text-slate-600">
          {readOnlyNote ?? "Your role is Read-only, so your keys are Read-only too. An admin can change your role."}
        </p>
      ) : null}
      <FieldErrors errors={errors} />
    </fieldset>
  );
}
