import type { Metadata } from "next";
import { Table, Td, Th } from "@/components/ui/table";
import { can, canManageUser, canSignOutEverywhere, ROLE_LABELS } from "@/lib/auth/permissions";
import { requirePermission } from "@/lib/auth/session";
import { formatDate } from "@/lib/format";
import { listServiceAccounts } from "@/lib/users/service-accounts";
import { listPendingInvites, listUsers } from "@/lib/users/service";
import { AddServiceAccountDialog } from "./_components/add-service-account-dialog";
import { InviteUserDialog } from "./_components/invite-user-dialog";
import { UsersTable, type UserRow } from "./_components/users-table";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const actor = await requirePermission("users.manage");
  const [users, invites, accounts] = await Promise.all([listUsers(actor), listPendingInvites(actor), listServiceAccounts(actor)]);
  const me = { id: actor.userId, role: actor.role };
  // What the actor may do to each row is decided here, with the same rules the services enforce.
  const rows: UserRow[] = users.map((user) => ({
    ...user,
    isYou: user.id === actor.userId,
    canManage: canManageUser(me, user, null),
    // A service account never signs in, so it has no sessions and cannot become the Owner.
    canTransfer: can(actor.role, "ownership.transfer") && user.id !== actor.userId && user.kind === "person",
    canSignOut: user.kind === "person" && canSignOutEverywhere(me, user),
  }));
  return (
    <div className="space-y-8">
      <div className="flex flex-wrap items-center justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Users</h1>
          <p className="text-sm text-slate-600">
            Everyone who can sign in to this Latchkey, and the service accounts that hold keys for systems.
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <AddServiceAccountDialog />
          <InviteUserDialog />
        </div>
      </div>
      <UsersTable users={rows} serviceAccounts={accounts.map(({ id, name, role }) => ({ id, name, role }))} />
      {invites.length > 0 ? (
        <section aria-labelledby="pending-invites" className="space-y-3">
          <h2 id="pending-invites" className="text-lg font-semibold">
            Pending invites
          </h2>
          <Table>
            <thead>
              <tr>
                <Th>Email</Th>
                <Th>Role</Th>
                <Th>Invited</Th>
                <Th>Expires</Th>
              </tr>
            </thead>
            <tbody>
              {invites.map((invite) => (
                <tr key={invite.id}>
                  <Td>{invite.email}</Td>
                  <Td>{ROLE_LABELS[invite.role]}</Td>
                  <Td>{formatDate(invite.createdAt)}</Td>
                  <Td>{formatDate(invite.expiresAt)}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        </section>
      ) : null}
    </div>
  );
}
