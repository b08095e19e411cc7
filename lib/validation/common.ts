import { z } from "@/lib/validation/zod";

/** C0 and C1 control characters (tabs and newlines included): never part of a name or a search. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Characters that change how a name looks without showing themselves: Unicode format characters
 * (Cf: U+202E RIGHT-TO-LEFT OVERRIDE turns "evil\u202egnp.exe" into "evilexe.png", U+200B is a
 * zero-width space, U+2066-2069 isolates, U+FEFF, soft hyphen, ...), line and paragraph
 * separators, and lone surrogates (half a character, which no database stores faithfully).
 */
const INVISIBLE_CHARS = /[\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
/**
 * A character a reader can see: a letter, digit, punctuation or symbol. Whitespace, combining
 * marks on their own and the blank "letters" (Hangul fillers, braille blank) do not count.
 */
const VISIBLE_CHAR = /(?![\u115f\u1160\u2800\u3164\uffa0])[\p{L}\p{N}\p{P}\p{S}]/u;

/**
 * A display name (a person's or a key's): 1-100 characters after trimming, no control, format
 * or other invisible characters, and at least one visible character, so a name shows what it is.
 */
export const displayName = (what: string) =>
  z
    .string({ error: `Enter a ${what}.` })
    .trim()
    .min(1, `Enter a ${what}.`)
    .max(100, `The ${what} must be at most 100 characters.`)
    .refine((v) => !CONTROL_CHARS.test(v), `The ${what} cannot contain control characters.`)
    .refine(
      (v) => !INVISIBLE_CHARS.test(v),
      `The ${what} cannot contain invisible or direction-changing characters (such as U+200B or U+202E).`,
    )
    .refine((v) => v.length === 0 || VISIBLE_CHAR.test(v), `The ${what} must contain a visible character.`);

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
