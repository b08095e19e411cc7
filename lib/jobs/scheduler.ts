import type { Database } from "@/db/client";
import { logError } from "@/lib/log";
import { runJob, type Job, type JobOutcome } from "./runner";

/**
 * A job is due once this share of the interval has passed since it last started, on any instance.
 * Each instance's own runs are a whole interval apart (its timer starts after a run ends), so it
 * is never skipped by itself; another instance's run in between is what makes it skip.
 */
const MIN_GAP_SHARE = 0.9;

export interface SchedulerOptions {
  /** The database the jobs run on (each run takes a connection from its pool). */
  database: () => Database;
  jobs: Job[];
  /** Time between runs of the jobs (LATCHKEY_JOB_INTERVAL_SECONDS). */
  intervalMs: number;
  /** Before the first run (default: a second, so start-up is not slowed). */
  firstRunAfterMs?: number;
  /** Whether to run at all now (the server passes "the database answers", so an outage logs nothing). */
  available?: () => boolean;
  /** Each job's outcome (tests, logs). */
  onOutcome?: (job: string, outcome: JobOutcome) => void;
}

export interface Scheduler {
  /** Runs every job once now (after any run in progress); resolves when done. */
  runNow(): Promise<void>;
  /** No further runs; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Runs the jobs one after another, every `intervalMs`, in this process. Every instance runs its
 * own scheduler; runJob's advisory lock and its "started less than 90% of an interval ago" check make
 * each job run about once per interval in all, by whichever instance comes first. A failing job
 * is logged and tried again next time; it never stops the others or the process.
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const runAll = async () => {
    for (const job of options.jobs) {
      if (stopped || options.available?.() === false) return;
      try {
        const outcome = await runJob(options.database(), job, { minGapMs: options.intervalMs * MIN_GAP_SHARE });
        options.onOutcome?.(job.name, outcome);
      } catch (error) {
        logError(`job ${job.name} failed`, error);
      }
    }
  };
  const tick = () => {
    running = running.then(runAll).finally(schedule);
  };
  const schedule = (delay = options.intervalMs) => {
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  schedule(options.firstRunAfterMs ?? 1_000);

  return {
    runNow() {
      const run = running.then(runAll);
      running = run.catch(() => {});
      return run;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
