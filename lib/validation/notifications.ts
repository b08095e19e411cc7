import { z } from "@/lib/validation/zod";
import { uuid } from "./common";

/** Mark as read: one of the actor's own notices (the service answers "not found" for any other id). */
export const markNotificationReadSchema = z.object({ id: uuid });

/** Mark all as read: no input. */
export const markAllNotificationsReadSchema = z.object({});
