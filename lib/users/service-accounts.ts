import { randomBytes, randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { db } from "@/lib/runtime";
import { users, type Role } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hashPassword } from "@/lib/auth/password";
import type { CreateServiceAccountInput } from "@/lib/validation/users";
import { SERVICE_ACCOUNT_ROLES } from "@/lib/validation/users";
import { USERS_IN_BROWSER } from "./messages";

/**
 * Service accounts (SPEC §12): users rows of kind "service_account" that hold keys for systems,
 * not people, so the keys outlive whoever set them up. They never sign in: sign-in refuses any
 * kind but "person", and their password hash is of random bytes nobody ever saw.
 */

/**
 * users.email is required and unique, so a service account gets an address no person can have:
 * ".invalid" is reserved (RFC 2606) and never delivers. It is never shown; the name is.
 */
export function serviceAccountEmail(id: string): string {
  return `service-account+${id}@latchkey.invalid`;
}

export interface ServiceAccountDto {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
}

/** Whether a role may belong to a service account (Staff or Read-only). */
export function isServiceAccountRole(role: Role): boolean {
  return (SERVICE_ACCOUNT_ROLES as readonly Role[]).includes(role);
}

/** Users page: Add service account (Owners and Admins). */
export async function createServiceAccount(actor: Actor, input: CreateServiceAccountInput): Promise<ServiceAccountDto> {
  authorize(actor, "users.manage", { browserOnly: USERS_IN_BROWSER });
  const id = randomUUID();
  const passwordHash = await hashPassword(randomBytes(32).toString("base64url"));
  return db().transaction(async (tx) => {
    const [row] = await tx
      .insert(users)
      .values({ id, kind: "service_account", email: serviceAccountEmail(id), name: input.name, role: input.role, passwordHash })
      .returning({ id: users.id, name: users.name, role: users.role, createdAt: users.createdAt });
    if (!row) throw new Error("insert returned no row");
    await recordAudit(tx, actor, {
      action: "user.service_account_created",
      targetType: "user",
      targetId: row.id,
      targetLabel: row.name,
      metadata: { role: row.role },
    });
    return row;
  });
}

/** Every service account, oldest first: the Access Manager's choice of holder for a new key. */
export async function listServiceAccounts(actor: Actor): Promise<ServiceAccountDto[]> {
  authorize(actor, "keys.manageAll", { browserOnly: USERS_IN_BROWSER });
  return db()
    .select({ id: users.id, name: users.name, role: users.role, createdAt: users.createdAt })
    .from(users)
    .where(eq(users.kind, "service_account"))
    .orderBy(asc(users.createdAt), asc(users.id));
}
