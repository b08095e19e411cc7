/**
 * Notification email (SMTP_URL) against a real SMTP server the test starts (smtp-server on a free
 * port, with a login): what arrives, one email per notice however many senders run, never a
 * secret, and a send that failed is retried once its claim has lapsed.
 */
import { eq, inArray } from "drizzle-orm";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { connect } from "@/db/client";
import { notifications } from "@/db/schema";
import { runJob, scheduledJobs } from "@/lib/jobs";
import { EMAIL_CLAIM_TIMEOUT_MS, emailJob } from "@/lib/jobs/email";
import { setApiKeyStatusAsAdmin } from "@/lib/keys/admin";
import { createApiKey } from "@/lib/keys/service";
import { createMailer, type Mailer } from "@/lib/mail/mailer";
import { notify } from "@/lib/notifications/notify";
import { db } from "@/lib/runtime";
import { setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { keyRow, makeUser } from "../helpers/fixtures";

const onPostgres = process.env.TEST_DB === "postgres";

interface Received {
  from: string;
  to: string[];
  subject: string;
  text: string;
  raw: string;
}

let smtp: SMTPServer;
let smtpUrl: string;
let inbox: Received[] = [];

/** RFC 2047 encoded words (a subject with quotes in it arrives as =?UTF-8?Q?...?=). */
function decodeWords(header: string): string {
  return header.replace(/\?=\s+=\?/g, "?==?").replace(/=\?utf-8\?([qb])\?(.*?)\?=/gi, (_m, encoding: string, text: string) =>
    encoding.toUpperCase() === "B"
      ? Buffer.from(text, "base64").toString("utf8")
      : Buffer.from(
          text.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))),
          "latin1",
        ).toString("utf8"),
  );
}

function decode(raw: string): { subject: string; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const headers = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  let body = raw.slice(split + 4);
  if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
    body = Buffer.from(
      body.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, hex: string) => `%${hex}`),
      "latin1",
    ).toString();
    body = decodeURIComponent(body.replace(/%(?![0-9A-F]{2})/g, "%25"));
  } else if (/content-transfer-encoding:\s*base64/i.test(headers)) {
    body = Buffer.from(body, "base64").toString("utf8");
  }
  const subject = decodeWords(/^subject: (.*)$/im.exec(headers)?.[1] ?? "");
  return { subject, text: body.replace(/\r\n/g, "\n").trim() };
}

beforeAll(async () => {
  smtp = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === "mailer" && auth.password === "mail password") callback(null, { user: "mailer" });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...decode(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const { port } = smtp.server.address() as AddressInfo;
  smtpUrl = `smtp://mailer:${encodeURIComponent("mail password")}@127.0.0.1:${port}`;
  teardown = await setupTestDatabase();
});
let teardown: () => Promise<void>;
afterAll(async () => {
  await teardown();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

let mailers: Mailer[] = [];
const newMailer = () => {
  const mailer = createMailer({ url: smtpUrl, from: "Latchkey <latchkey@example.test>" });
  mailers.push(mailer);
  return mailer;
};
beforeEach(async () => {
  inbox = [];
  await db().delete(notifications);
  for (const mailer of mailers) mailer.close();
  mailers = [];
});

async function staffWithKey(name = "billing sync") {
  const admin = await makeUser("admin", { name: "Ada Admin" });
  const staff = await makeUser("staff", { name: "Sam Staff" });
  const { key, secret } = await createApiKey(staff, { name, access_level: "read_only", expires_at: null });
  return { admin, staff, key, secret };
}

describe("notification email", () => {
  it("sends one short plain email per notice to its holder, never a secret; a second run sends nothing", async () => {
    const { admin, staff, key, secret } = await staffWithKey();
    await setApiKeyStatusAsAdmin(admin, key.id, "disabled");
    const job = emailJob(newMailer(), { appUrl: "https://latchkey.example.test" });

    expect(await runJob(db(), job)).toEqual({ status: "ran", summary: { claimed: 1, sent: 1, failed: 0 } });
    expect(inbox).toHaveLength(1);
    const [mail] = inbox;
    expect(mail!.to).toEqual([staff.email]);
    expect(mail!.from).toBe("latchkey@example.test");
    expect(mail!.subject).toBe('Your API key "billing sync" was disabled by an admin');
    expect(mail!.text).toContain("Hello Sam Staff,");
    expect(mail!.text).toContain("Ada Admin disabled it in the API Access Manager");
    expect(mail!.text).toContain("https://latchkey.example.test/profile");
    expect(mail!.raw).toMatch(/content-type: text\/plain/i);
    // Nothing of the key beyond its name: not the secret, not its masked form, not its digest.
    const row = (await keyRow(key.id))!;
    for (const secretish of [secret, secret.slice(3, 20), key.maskedKey, row.last4 + "\n", row.digest, row.secretCiphertext]) {
      expect(mail!.raw).not.toContain(secretish);
    }
    expect(mail!.raw).not.toMatch(/lk_[0-9A-Za-z]{4,}/);
    const [notice] = await db().select().from(notifications).where(eq(notifications.userId, staff.userId));
    expect(notice!.emailedAt).toBeInstanceOf(Date);

    expect(await runJob(db(), job)).toEqual({ status: "ran", summary: { claimed: 0, sent: 0, failed: 0 } });
    expect(inbox).toHaveLength(1);
  });

  it("sends each notice once with two senders running at the same time", async () => {
    const staff = await makeUser("staff");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      await notify(db(), {
        userId: staff.userId,
        kind: "key_expired",
        keyName: `key ${i}`,
        data: { expires_at: new Date().toISOString() },
      });
    }
    for (const row of await db().select({ id: notifications.id }).from(notifications)) ids.push(row.id);
    const databases = onPostgres ? [connect(testDatabaseUrl(), { max: 2 }), connect(testDatabaseUrl(), { max: 2 })] : [];
    try {
      const senders = onPostgres ? databases.map((d) => d.db) : [db(), db()];
      const outcomes = await Promise.all(
        senders.flatMap((database) => [runJob(database, emailJob(newMailer())), runJob(database, emailJob(newMailer()))]),
      );
      const sent = outcomes.reduce((sum, o) => sum + (o.status === "ran" ? o.summary.sent! : 0), 0);
      expect(sent).toBe(6);
      expect(inbox).toHaveLength(6);
      expect(new Set(inbox.map((m) => m.subject)).size).toBe(6);
      const rows = await db().select().from(notifications).where(inArray(notifications.id, ids));
      expect(rows.every((r) => r.emailedAt !== null)).toBe(true);
    } finally {
      await Promise.all(databases.map((d) => d.sql.end()));
    }
  });

  it("keeps a notice whose send failed claimed for a while, then sends it once", async () => {
    const staff = await makeUser("staff");
    await notify(db(), { userId: staff.userId, kind: "key_expired", keyName: "flaky", data: {} });
    const down: Mailer = {
      async send() {
        throw new Error("connect ECONNREFUSED");
      },
      close() {},
    };
    const now = new Date();
    expect(await runJob(db(), emailJob(down), { now })).toEqual({ status: "ran", summary: { claimed: 1, sent: 0, failed: 1 } });
    const [failed] = await db().select().from(notifications).where(eq(notifications.userId, staff.userId));
    expect(failed!.emailedAt).toBeNull();
    expect(failed!.emailClaimedAt).toBeInstanceOf(Date);

    const job = emailJob(newMailer());
    expect(await runJob(db(), job, { now: new Date(now.getTime() + 60_000) })).toEqual({
      status: "ran",
      summary: { claimed: 0, sent: 0, failed: 0 },
    });
    const later = new Date(now.getTime() + EMAIL_CLAIM_TIMEOUT_MS + 1000);
    expect(await runJob(db(), job, { now: later })).toEqual({ status: "ran", summary: { claimed: 1, sent: 1, failed: 0 } });
    expect(await runJob(db(), job, { now: later })).toEqual({ status: "ran", summary: { claimed: 0, sent: 0, failed: 0 } });
    expect(inbox.map((m) => m.subject)).toEqual(['Your API key "flaky" has expired']);
  });

  it("refuses a wrong SMTP login: nothing is marked sent", async () => {
    const staff = await makeUser("staff");
    await notify(db(), { userId: staff.userId, kind: "key_expired", keyName: "k", data: {} });
    const port = (smtp.server.address() as AddressInfo).port;
    const wrong = createMailer({ url: `smtp://mailer:wrong@127.0.0.1:${port}`, from: "latchkey@example.test" });
    mailers.push(wrong);
    expect(await runJob(db(), emailJob(wrong))).toEqual({ status: "ran", summary: { claimed: 1, sent: 0, failed: 1 } });
    expect(inbox).toEqual([]);
    const [row] = await db().select().from(notifications).where(eq(notifications.userId, staff.userId));
    expect(row!.emailedAt).toBeNull();
  });

  it("is not scheduled without SMTP_URL", () => {
    expect(scheduledJobs().map((j) => j.name)).not.toContain("notification-email");
    expect(scheduledJobs({ mailer: newMailer() }).map((j) => j.name)).toContain("notification-email");
  });
});
