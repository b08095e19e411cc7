import { describeNotification, type NotificationContent } from "@/lib/notifications/wording";
import type { OutgoingEmail } from "./mailer";

export interface EmailRecipient {
  email: string;
  name: string;
}

/**
 * One notification as a short plain-text email, worded as the header's list words it: the key's
 * name at most, never a secret or a masked key. `appUrl` (the public address, when known) adds
 * where to look.
 */
export function notificationEmail(notice: NotificationContent, to: EmailRecipient, appUrl?: string): OutgoingEmail {
  const { title, body } = describeNotification(notice);
  const where = appUrl ? `Your keys: ${new URL("/profile", appUrl).toString()}` : "You can see your keys on your Profile page in Latchkey.";
  return {
    to: to.email,
    subject: title,
    text: [`Hello ${to.name},`, "", body, "", where, "", "This message was sent by Latchkey, your organisation's API key manager."].join(
      "\n",
    ),
  };
}
