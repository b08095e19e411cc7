"use client";

import { Bell, Check } from "lucide-react";
import { Popover as P } from "radix-ui";
import { useId, useTransition } from "react";
import { toast } from "sonner";
import { markAllNotificationsReadAction, markNotificationReadAction } from "../notifications/actions";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { formatDateTime } from "@/lib/format";

export interface NotificationItem {
  id: string;
  title: string;
  body: string;
  createdAt: Date;
  readAt: Date | null;
}

/**
 * The header's **Notifications** button: the unread count on it, and a list of the newest notices
 * in a popover (a labelled dialog: Escape and a click outside close it, focus returns to the
 * button), each with **Mark as read**, and **Mark all as read**.
 */
export function NotificationsMenu({ items, unread }: { items: NotificationItem[]; unread: number }) {
  const headingId = useId();
  const [pending, startTransition] = useTransition();

  const run = (action: () => Promise<{ ok: boolean; message?: string } | null>) =>
    startTransition(async () => {
      const result = await action();
      if (!result?.ok) toast.error(result?.message ?? "Could not update your notifications.");
    });

  return (
    <P.Root>
      <P.Trigger asChild>
        <Button variant="ghost" size="sm" aria-label={unread > 0 ? `Notifications, ${unread} unread` : "Notifications"}>
          <Bell className="h-4 w-4" aria-hidden />
          <span aria-hidden className="max-sm:hidden">
            Notifications
          </span>
          {unread > 0 ? (
            <span aria-hidden className="rounded-full bg-indigo-600 px-1.5 text-xs leading-5 font-semibold text-white">
              {unread > 99 ? "99+" : unread}
            </span>
          ) : null}
        </Button>
      </P.Trigger>
      {/* No portal: the open list stays inside the header's landmark. */}
      <P.Content
        align="end"
        sideOffset={6}
        collisionPadding={16}
        aria-labelledby={headingId}
        className="z-50 w-[min(26rem,calc(100vw-2rem))] rounded-lg border border-slate-200 bg-white shadow-xl focus:outline-none"
      >
        <div className="flex items-center justify-between gap-3 border-b border-slate-200 px-4 py-3">
          <h2 id={headingId} className="text-base font-semibold text-slate-900">
            Notifications
          </h2>
          {unread > 0 ? (
            <Button variant="ghost" size="sm" disabled={pending} onClick={() => run(() => markAllNotificationsReadAction({}))}>
              <Check className="h-4 w-4" aria-hidden />
              Mark all as read
            </Button>
          ) : null}
        </div>
        {items.length === 0 ? (
          <p className="px-4 py-6 text-sm text-slate-600">No notifications yet.</p>
        ) : (
          <ul className="max-h-[min(32rem,70vh)] divide-y divide-slate-100 overflow-y-auto" aria-labelledby={headingId}>
            {items.map((item) => (
              <NotificationRow
                key={item.id}
                item={item}
                pending={pending}
                onMarkRead={() => run(() => markNotificationReadAction({ id: item.id }))}
              />
            ))}
          </ul>
        )}
      </P.Content>
    </P.Root>
  );
}

function NotificationRow({ item, pending, onMarkRead }: { item: NotificationItem; pending: boolean; onMarkRead: () => void }) {
  const titleId = useId();
  const unread = item.readAt === null;
  return (
    <li className={cn("px-4 py-3", unread && "bg-indigo-50/60")}>
      <p id={titleId} className={cn("text-sm text-slate-900", unread ? "font-semibold" : "font-medium")}>
        {unread ? (
          <>
            <span aria-hidden className="mr-2 inline-block h-2 w-2 rounded-full bg-indigo-600 align-middle" />
            <span className="sr-only">Unread: </span>
          </>
        ) : null}
        {item.title}
      </p>
      <p className="mt-1 text-sm text-slate-700">{item.body}</p>
      <div className="mt-2 flex items-center justify-between gap-3 text-xs text-slate-600">
        <time dateTime={new Date(item.createdAt).toISOString()}>{formatDateTime(item.createdAt)}</time>
        {unread ? (
          <Button variant="secondary" size="sm" disabled={pending} aria-describedby={titleId} onClick={onMarkRead}>
            Mark as read
          </Button>
        ) : (
          <span>Read</span>
        )}
      </div>
    </li>
  );
}
