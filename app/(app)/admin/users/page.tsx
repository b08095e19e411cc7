import type { Metadata } from "next";
import { Badge } from "@/components/ui/badge";
import { Table, Td, Th } from "@/components/ui/table";
import { ROLE_LABELS } from "@/lib/auth/permissions";
import { requirePermission } from "@/lib/auth/session";
import { formatDate } from "@/lib/format";
import { listPendingInvites, listUsers } from "@/lib/users/service";
import { InviteUserDialog } from "./_components/invite-user-dialog";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const actor = await requirePermission("users.manage");
  const [users, invites] = await Promise.all([listUsers(actor), listPendingInvites(actor)]);
  return (
    <div className="space-y-8">
      <div className="flex flex-wrap items-center justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Users</h1>
          <p className="text-sm text-slate-600">Everyone who can sign in to this Latchkey.</p>
        </div>
        <InviteUserDialog />
      </div>
      <Table>
        <caption className="sr-only">Users</caption>
        <thead>
          <tr>
            <Th>Name</Th>
            <Th>Email</Th>
            <Th>Role</Th>
            <Th className="text-right">Keys</Th>
            <Th>Joined</Th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <Td className="font-medium">
                {user.name}
                {user.id === actor.userId ? <span className="ml-2 text-xs text-slate-500">(you)</span> : null}
              </Td>
              <Td>{user.email}</Td>
              <Td>
                <Badge tone={user.role === "owner" || user.role === "admin" ? "indigo" : "gray"}>{ROLE_LABELS[user.role]}</Badge>
              </Td>
              <Td className="text-right tabular-nums">{user.keyCount}</Td>
              <Td>{formatDate(user.createdAt)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
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
