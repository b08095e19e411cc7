import { z } from "zod";

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** A display name (a person's or a key's): 1-100 characters after trimming, no control characters. */
export const displayName = (what: string) =>
  z
    .string({ error: `Enter a ${what}.` })
    .trim()
    .min(1, `Enter a ${what}.`)
    .max(100, `The ${what} must be at most 100 characters.`)
    .refine((v) => !CONTROL_CHARS.test(v), `The ${what} cannot contain control characters.`);

export const email = z
  .string({ error: "Enter an email address." })
  .trim()
  .toLowerCase()
  .min(1, "Enter an email address.")
  .max(254, "The email address must be at most 254 characters.")
  .pipe(z.email("Enter a valid email address."));

export const newPassword = z
  .string({ error: "Enter a password." })
  .min(8, "The password must be at least 8 characters.")
  .max(200, "The password must be at most 200 characters.");

export const uuid = z.uuid("That is not a valid id.");

/** Field errors keyed by input name, as forms show them under each field. */
export type FieldErrors = Record<string, string[] | undefined>;

export function fieldErrorsOf(error: z.ZodError): FieldErrors {
  return z.flattenError(error).fieldErrors as FieldErrors;
}
