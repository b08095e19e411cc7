import type { Role } from "@/db/schema";
import type { KeyState } from "@/lib/keys/dto";
import { isAdminRole, ROLE_LABELS } from "@/lib/auth/permissions";
import { Badge } from "./ui/badge";

/**
 * A key's status as every table shows it: Active, Expired (an active key past its expiry, keyState),
 * or Disabled, saying so when an admin or the unused-key policy did it.
 */
export function KeyStatusBadge({
  status,
  disabledByAdmin,
  disabledReason = null,
}: {
  status: KeyState;
  disabledByAdmin: boolean;
  disabledReason?: string | null;
}) {
  if (status === "active") return <Badge tone="green">Active</Badge>;
  if (status === "expired") return <Badge tone="amber">Expired</Badge>;
  const why = disabledByAdmin ? "by an admin" : disabledReason === "unused" ? "unused for too long" : null;
  return (
    <span className="inline-flex flex-wrap items-center gap-x-1.5">
      <Badge tone="gray">Disabled</Badge>
      {why ? <span className="text-xs whitespace-nowrap text-slate-600">{why}</span> : null}
    </span>
  );
}

/** A role, with Owner and Admin set apart. */
export function RoleBadge({ role }: { role: Role }) {
  return <Badge tone={isAdminRole(role) ? "indigo" : "gray"}>{ROLE_LABELS[role]}</Badge>;
}
