import { z } from "@/lib/validation/zod";

/** Confirm it's you (SPEC §12): the signed-in person's password, typed again. */
export const confirmIdentitySchema = z.object({
  password: z.string({ error: "Enter your password." }).min(1, "Enter your password.").max(200),
});
export type ConfirmIdentityInput = z.infer<typeof confirmIdentitySchema>;
