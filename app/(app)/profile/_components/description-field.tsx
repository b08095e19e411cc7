"use client";

import { useId, useState } from "react";
import { FieldErrors, inputClass } from "@/components/ui/field";
import { cn } from "@/components/ui/cn";

export const DESCRIPTION_MAX = 500;

/** Description (SPEC §11): optional, up to 500 characters, line breaks kept; a count as you type. */
export function DescriptionField({ defaultValue, errors }: { defaultValue?: string | null; errors?: string[] }) {
  const id = useId();
  const [length, setLength] = useState(defaultValue?.length ?? 0);
  const over = length > DESCRIPTION_MAX;
  const describedBy = [`${id}-hint`, errors?.length ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        Description <span className="font-normal text-slate-500">(optional)</span>
      </label>
      <textarea
        id={id}
        name="description"
        rows={3}
        defaultValue={defaultValue ?? ""}
        onChange={(event) => setLength(event.target.value.length)}
        className={cn(inputClass, "h-auto min-h-20 py-2 leading-5")}
        aria-invalid={errors?.length || over ? true : undefined}
        aria-describedby={describedBy}
      />
      <p id={`${id}-hint`} className={cn("flex justify-between gap-3 text-xs", over ? "text-red-700" : "text-slate-500")}>
        <span>What the key is for, who runs it, where it is stored.</span>
        <span className="tabular-nums">
          {length}/{DESCRIPTION_MAX}
        </span>
      </p>
      <FieldErrors id={`${id}-error`} errors={errors} />
    </div>
  );
}
