import nodemailer from "nodemailer";

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
}

/** Sends plain-text email through one SMTP server (SMTP_URL). */
export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}

export interface MailSettings {
  /** smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://host:465 (TLS). */
  url: string;
  /** The From header, e.g. "Latchkey <latchkey@example.com>". */
  from: string;
}

// Short enough that a dead mail server never holds a job for long; the URL may set its own.
const TIMEOUTS = { connectionTimeout: "10000", greetingTimeout: "10000", socketTimeout: "30000" };

/** A mailer over nodemailer's SMTP transport (the URL's own options, e.g. ?pool=true, apply). */
export function createMailer(settings: MailSettings): Mailer {
  const url = new URL(settings.url);
  for (const [name, value] of Object.entries(TIMEOUTS)) if (!url.searchParams.has(name)) url.searchParams.set(name, value);
  const transport = nodemailer.createTransport(url.toString());
  return {
    async send(email) {
      await transport.sendMail({ from: settings.from, to: email.to, subject: email.subject, text: email.text });
    },
    close() {
      transport.close();
    },
  };
}
