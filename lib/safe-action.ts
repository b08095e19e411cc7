import "server-only";
import { z } from "@/lib/validation/zod";
import type { Actor } from "@/lib/auth/actor";
import { getActor } from "@/lib/auth/session";
import { ServiceError } from "@/lib/errors";
import { logError } from "@/lib/log";
import { fieldErrorsOf, type FieldErrors } from "@/lib/validation/common";

/** What every server action returns to its form. */
export type ActionState<T = undefined> =
  | { ok: true; message?: string; data?: T }
  | {
      ok: false;
      message: string;
      fieldErrors?: FieldErrors;
      /** Set when the refusal is Confirm it's you: the client asks the password, then calls again. */
      code?: "confirmation_required";
    }
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
    if (error.code === "confirmation_required") return { ok: false, message: error.message, code: error.code };
    return {
      ok: false,
      message: error.message,
      fieldErrors: error.field ? { [error.field]: [error.message] } : undefined,
    };
  }
  logError("action failed", error); // one line, without query parameters
  return { ok: false, message: "Something went wrong. Please try again." };
}

/** What an action answers when its arguments are not what it takes (a hand-made or malformed call). */
export const BAD_REQUEST_STATE = {
  ok: false,
  message: "Bad request: this action was called with arguments it does not take.",
} as const satisfies ActionState<never>;

/**
 * An action's arguments come from the request body, which anyone can write: `[]`, `{}`,
 * `[null, null]` or a form sent to an action that takes an object reach here as well. A form
 * action takes exactly `(previousState, formData)`; a typed action exactly one plain object.
 */
function formOf(args: unknown[]): FormData | null {
  return args.length === 2 && args[1] instanceof FormData ? args[1] : null;
}

function objectOf(args: unknown[]): Record<string, unknown> | null {
  if (args.length !== 1) return null;
  const [value] = args;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null ? (value as Record<string, unknown>) : null;
}

async function run<S extends z.ZodType, T>(
  schema: S,
  input: Record<string, unknown>,
  invalidMessage: (error: z.ZodError) => string,
  fn: (input: z.infer<S>) => Promise<ActionState<T>>,
): Promise<ActionState<T>> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, message: invalidMessage(parsed.error), fieldErrors: fieldErrorsOf(parsed.error) };
  }
  try {
    return await fn(parsed.data);
  } catch (error) {
    return errorState(error);
  }
}

const FORM_INVALID = () => "Please correct the highlighted fields.";
/** A typed call has no fields on screen to highlight: the first problem is the message. */
const OBJECT_INVALID = (error: z.ZodError) => error.issues[0]?.message ?? BAD_REQUEST_STATE.message;

const SESSION_ENDED = { ok: false, message: "Your session has ended. Sign in again." } as const satisfies ActionState<never>;

/**
 * The wrapper for form actions of signed-in people (a <form> with useActionState): checks the
 * session (re-read from the database) and validates the form with the operation's schema before
 * `fn` runs. Services check permissions.
 */
export function validatedActionWithActor<S extends z.ZodType, T = undefined>(
  schema: S,
  fn: (input: z.infer<S>, actor: Actor) => Promise<ActionState<T>>,
) {
  return async (...args: [previousState: ActionState<T>, formData: FormData]): Promise<ActionState<T>> => {
    const form = formOf(args);
    if (!form) return BAD_REQUEST_STATE;
    const actor = await getActor();
    if (!actor) return SESSION_ENDED;
    return run(schema, formDataToObject(form), FORM_INVALID, (input) => fn(input, actor));
  };
}

/** For the few form actions that run before anyone is signed in (setup, accepting an invite). */
export function validatedAction<S extends z.ZodType, T = undefined>(schema: S, fn: (input: z.infer<S>) => Promise<ActionState<T>>) {
  return async (...args: [previousState: ActionState<T>, formData: FormData]): Promise<ActionState<T>> => {
    const form = formOf(args);
    if (!form) return BAD_REQUEST_STATE;
    return run(schema, formDataToObject(form), FORM_INVALID, fn);
  };
}

/**
 * The wrapper for actions a button calls with a typed object (enable, delete, reveal, sign out a
 * session, ...): the same session check, and the object must parse with the operation's schema.
 * Called with anything but one plain object (a form, a list, two arguments), it refuses.
 */
export function typedActionWithActor<S extends z.ZodObject, T = undefined>(
  schema: S,
  fn: (input: z.infer<S>, actor: Actor) => Promise<ActionState<T>>,
) {
  return async (...args: [input: z.input<S>]): Promise<ActionState<T>> => {
    const input = objectOf(args);
    if (!input) return BAD_REQUEST_STATE;
    const actor = await getActor();
    if (!actor) return SESSION_ENDED;
    return run(schema, input, OBJECT_INVALID, (parsed) => fn(parsed, actor));
  };
}
