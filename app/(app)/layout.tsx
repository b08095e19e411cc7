import { KeyRound } from "lucide-react";
import Link from "next/link";
import { ConfirmIdentityProvider } from "@/components/auth/confirm-identity";
import { NavLinks, type NavItem } from "@/components/shell/nav-links";
import { NotificationsMenu } from "./_components/notifications-menu";
import { SignOutButton } from "@/components/shell/sign-out-button";
import { requireActor } from "@/lib/auth/session";
import { can, ROLE_LABELS } from "@/lib/auth/permissions";
import { listOwnNotifications } from "@/lib/notifications/service";
import { confirmIdentityAction } from "./actions";

export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const actor = await requireActor();
  const items: NavItem[] = [{ href: "/profile", label: "Profile" }];
  if (can(actor.role, "keys.manageAll")) items.push({ href: "/admin/api-access", label: "API Access Manager" });
  if (can(actor.role, "users.manage")) items.push({ href: "/admin/users", label: "Users" });
  if (can(actor.role, "audit.read")) items.push({ href: "/admin/audit-log", label: "Audit log" });
  const notifications = await listOwnNotifications(actor);
  if (can(actor.role, "settings.manage")) items.push({ href: "/admin/settings", label: "Settings" });
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-2 sm:px-6">
          <Link href="/profile" className="flex items-center gap-2 py-1 font-semibold text-slate-900">
            <KeyRound className="h-5 w-5 text-indigo-600" aria-hidden />
            Latchkey
          </Link>
          <nav aria-label="Main" className="order-last w-full sm:order-none sm:w-auto sm:flex-1">
            <NavLinks items={items} />
          </nav>
          <div className="ml-auto flex items-center gap-3">
            <div className="text-right text-sm leading-tight">
              <div className="font-medium text-slate-900">{actor.name}</div>
              <div className="text-xs text-slate-600">{ROLE_LABELS[actor.role]}</div>
            </div>
            <NotificationsMenu
              items={notifications.entries.map(({ id, title, body, createdAt, readAt }) => ({ id, title, body, createdAt, readAt }))}
              unread={notifications.unread}
            />
            <SignOutButton />
          </div>
        </div>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <ConfirmIdentityProvider
          confirm={confirmIdentityAction}
          needs={{ password: actor.hasPassword ?? true, code: actor.twoFactor ?? false }}
        >
          {children}
        </ConfirmIdentityProvider>
      </main>
    </div>
  );
}
