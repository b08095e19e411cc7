import { z } from "@/lib/validation/zod";
import { INVITABLE_ROLES } from "@/lib/auth/permissions";
import { displayName, email, newPassword, uuid } from "./common";

export const setupSchema = z.object({
  name: displayName("name"),
  email,
  password: newPassword,
});
export type SetupInput = z.infer<typeof setupSchema>;

export const signInSchema = z.object({
  email,
  password: z.string({ error: "Enter your password." }).min(1, "Enter your password.").max(200),
});
export type SignInInput = z.infer<typeof signInSchema>;

export const inviteSchema = z.object({
  email,
  role: z.enum(INVITABLE_ROLES, { error: "Choose a role: Admin, Staff, Read-only or Lite." }),
});
export type InviteInput = z.infer<typeof inviteSchema>;

export const acceptInviteSchema = z.object({
  token: z.string().min(1).max(200),
  name: displayName("name"),
  password: newPassword,
});
export type AcceptInviteInput = z.infer<typeof acceptInviteSchema>;

export const changePasswordSchema = z
  .object({
    current_password: z.string({ error: "Enter your current password." }).min(1, "Enter your current password.").max(200),
    new_password: newPassword,
  })
  .refine((v) => v.current_password !== v.new_password, {
    message: "The new password must differ from the current one.",
    path: ["new_password"],
  });
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;

/** Profile's Sessions: Sign out on one of one's own sessions. */
export const endSessionSchema = z.object({ sessionId: uuid });
export type EndSessionInput = z.infer<typeof endSessionSchema>;

/** Profile's Sessions: Sign out other sessions (no fields). */
export const endOtherSessionsSchema = z.object({});

/** The roles a service account may have (SPEC §12): it holds keys, so Staff or Read-only. */
export const SERVICE_ACCOUNT_ROLES = ["staff", "read_only"] as const;
export type ServiceAccountRole = (typeof SERVICE_ACCOUNT_ROLES)[number];

/** Users page: Add service account. */
export const createServiceAccountSchema = z.object({
  name: displayName("name"),
  role: z.enum(SERVICE_ACCOUNT_ROLES, { error: "Choose a role: Staff or Read-only." }),
});
export type CreateServiceAccountInput = z.infer<typeof createServiceAccountSchema>;

/** Users page: Remove, with the keys to move to a service account (the others are deleted). */
export const removeUserSchema = z.object({
  userId: uuid,
  moves: z
    .array(z.object({ keyId: uuid, accountId: z.uuid("Choose a service account.") }))
    .max(1000)
    .default([]),
});
export type RemoveUserInput = z.infer<typeof removeUserSchema>;
