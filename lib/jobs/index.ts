import type { Mailer } from "@/lib/mail/mailer";
import { emailJob } from "./email";
import { expiredNoticesJob, expiryWarningsJob } from "./expiry-notices";
import { pruneJob } from "./prune";
import type { Job } from "./runner";
import { unusedKeysJob } from "./unused-keys";

export { runJob, type Job, type JobOutcome, type JobSummary } from "./runner";
export { startScheduler, type Scheduler } from "./scheduler";

/**
 * Every scheduled job (SPEC §11), in the order a run takes them: the notices first, so the email
 * job sends what this run raised. Without a mailer (no SMTP_URL) nothing is emailed.
 */
export function scheduledJobs(options: { mailer?: Mailer; appUrl?: string } = {}): Job[] {
  const jobs: Job[] = [expiryWarningsJob, expiredNoticesJob, unusedKeysJob, pruneJob];
  if (options.mailer) jobs.push(emailJob(options.mailer, { appUrl: options.appUrl }) as Job);
  return jobs;
}
