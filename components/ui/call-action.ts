import type { ActionState } from "@/lib/safe-action";

type FormAction<T> = (prev: ActionState<T>, formData: FormData) => Promise<ActionState<T>>;

/** Calls a form server action from an event handler with plain fields. */
export function callAction<T>(action: FormAction<T>, fields: Record<string, string>): Promise<ActionState<T>> {
  const formData = new FormData();
  for (const [name, value] of Object.entries(fields)) formData.set(name, value);
  return action(null, formData);
}
