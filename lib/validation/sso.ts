import { z } from "@/lib/validation/zod";
import { displayName, email } from "./common";

/**
 * What single sign-on reads from the provider's ID token (SPEC §12): its signature, issuer,
 * audience, nonce and the request's state were checked before this (openid-client, through
 * next-auth). `email_verified` must be true: a provider that has not verified an address does not
 * vouch for who owns it. Some providers send the boolean as a string.
 */
export const ssoIdentitySchema = z.object({
  sub: z.string().min(1).max(255),
  email: email.optional(),
  email_verified: z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]).optional(),
  // A provider's name that would not pass as a name here is dropped (the email's local part stands in).
  name: displayName("name").optional().catch(undefined),
});
export type SsoIdentity = z.infer<typeof ssoIdentitySchema>;
