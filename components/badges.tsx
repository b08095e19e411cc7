import type { KeyStatus, Role } from "@/db/schema";
import { isAdminRole, ROLE_LABELS } from "@/lib/auth/permissions";
import { Badge } from "./ui/badge";

/** A key's status as every table shows it: Active, or Disabled (saying so when an admin did it). */
export function KeyStatusBadge({ status, disabledByAdmin }: { status: KeyStatus; disabledByAdmin: boolean }) {
  if (status === "active") return <Badge tone="green">Active</Badge>;
  return (
    <span className="inline-flex flex-wrap items-center gap-x-1.5">
      <Badge tone="gray">Disabled</Badge>
      {disabledByAdmin ? <span className="text-xs whitespace-nowrap text-slate-600">by an admin</span> : null}
    </span>
  );
}

/** A role, with Owner and Admin set apart. */
export function RoleBadge({ role }: { role: Role }) {
  return <Badge tone={isAdminRole(role) ? "indigo" : "gray"}>{ROLE_LABELS[role]}</Badge>;
}
