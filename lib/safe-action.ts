import "server-only";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { getActor } from "@/lib/auth/session";
import { ServiceError } from "@/lib/errors";
import { logError } from "@/lib/log";
import { fieldErrorsOf, type FieldErrors } from "@/lib/validation/common";

/** What every server action returns to its form. */
export type ActionState<T = undefined> =
  | { ok: true; message?: string; data?: T }
  | { ok: false; message: string; fieldErrors?: FieldErrors }
  | null;

function formDataToObject(formData: FormData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of formData.entries()) {
    if (key.startsWith("$ACTION")) continue; // React's own fields
    if (typeof value === "string") out[key] = value;
  }
  return out;
}

/** Maps what a service threw to the form's state; unexpected errors are logged, never shown. */
export function errorState(error: unknown): ActionState<never> {
  if (error instanceof ServiceError) {
    return {
      ok: false,
      message: error.message,
      fieldErrors: error.field ? { [error.field]: [error.message] } : undefined,
    };
  }
  logError("action failed", error); // one line, without query parameters
  return { ok: false, message: "Something went wrong. Please try again." };
}

/** What an action answers when its arguments are not a form (a hand-made or malformed call). */
export const BAD_REQUEST_STATE = { ok: false, message: "Bad request." } as const satisfies ActionState<never>;

/**
 * Every action is called by React as `(previousState, formData)`, but its arguments come from the
 * request body, which anyone can write: `[]`, `{}` or `[null, null]` reach here as well.
 */
function isForm(formData: unknown): formData is FormData {
  return formData instanceof FormData;
}

async function run<S extends z.ZodType, T>(
  schema: S,
  formData: FormData,
  fn: (input: z.infer<S>) => Promise<ActionState<T>>,
): Promise<ActionState<T>> {
  if (!isForm(formData)) return BAD_REQUEST_STATE;
  const parsed = schema.safeParse(formDataToObject(formData));
  if (!parsed.success) {
    return { ok: false, message: "Please correct the highlighted fields.", fieldErrors: fieldErrorsOf(parsed.error) };
  }
  try {
    return await fn(parsed.data);
  } catch (error) {
    return errorState(error);
  }
}

/**
 * The one wrapper for actions of signed-in people: checks the session (re-read from the database)
 * and validates the form with the operation's schema before `fn` runs. Services check permissions.
 */
export function validatedActionWithActor<S extends z.ZodType, T = undefined>(
  schema: S,
  fn: (input: z.infer<S>, actor: Actor) => Promise<ActionState<T>>,
) {
  return async (_prev: ActionState<T>, formData: FormData): Promise<ActionState<T>> => {
    if (!isForm(formData)) return BAD_REQUEST_STATE;
    const actor = await getActor();
    if (!actor) return { ok: false, message: "Your session has ended. Sign in again." };
    return run(schema, formData, (input) => fn(input, actor));
  };
}

/** For the few actions that run before anyone is signed in (setup, accepting an invite). */
export function validatedAction<S extends z.ZodType, T = undefined>(
  schema: S,
  fn: (input: z.infer<S>) => Promise<ActionState<T>>,
) {
  return async (_prev: ActionState<T>, formData: FormData): Promise<ActionState<T>> => run(schema, formData, fn);
}
