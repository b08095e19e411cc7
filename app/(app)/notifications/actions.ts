"use server";

import { revalidatePath } from "next/cache";
import { markAllNotificationsRead, markNotificationRead } from "@/lib/notifications/service";
import { typedActionWithActor } from "@/lib/safe-action";
import { markAllNotificationsReadSchema, markNotificationReadSchema } from "@/lib/validation/notifications";

// The header (the app layout) shows the count and the list: refresh it on every page.
const refreshHeader = () => revalidatePath("/", "layout");

export const markNotificationReadAction = typedActionWithActor(markNotificationReadSchema, async (input, actor) => {
  await markNotificationRead(actor, input.id);
  refreshHeader();
  return { ok: true };
});

export const markAllNotificationsReadAction = typedActionWithActor(markAllNotificationsReadSchema, async (_input, actor) => {
  const marked = await markAllNotificationsRead(actor);
  refreshHeader();
  return { ok: true, message: marked === 1 ? "1 notification marked as read." : `${marked} notifications marked as read.` };
});
