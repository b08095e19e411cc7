import { eq, sql } from "drizzle-orm";
import type { Database, Tx } from "@/db/client";
import { jobRuns } from "@/db/schema";
import { recordAudit, SYSTEM_ACTOR } from "@/lib/audit/service";
import { describeError } from "@/lib/log";

/** What a run reports: counts of what it did, kept in job_runs.last_result (and audited when not all zero). */
export type JobSummary = Record<string, number>;

export interface JobRun<Later = unknown> {
  summary: JobSummary;
  /**
   * Work for after the transaction has committed and the lock is released (sending the emails it
   * claimed): its counts are added to the run's summary.
   */
  later?: Later;
}

export interface Job<Later = unknown> {
  /** Also the advisory lock's name and the job_runs row's. */
  name: string;
  /** The work, inside the transaction that holds the job's lock; idempotent. */
  run(tx: Tx, now: Date): Promise<JobRun<Later>>;
  afterCommit?(later: Later, database: Database): Promise<JobSummary>;
}

export type JobOutcome =
  | { status: "ran"; summary: JobSummary }
  /** Another instance (or run) holds the job's lock right now. */
  | { status: "busy" }
  /** It ran less than `minGapMs` ago, on this instance or another. */
  | { status: "not_due" };

export interface RunOptions {
  /** The time the job acts as of (tests run it "later" instead of waiting). */
  now?: Date;
  /**
   * Skip the run when the job last started less than this long ago (the scheduler passes 90% of
   * its interval, so N instances run each job about once per interval, not N times). 0: always run.
   */
  minGapMs?: number;
}

// Advisory locks live in one 64-bit space shared with anything else on the database: the
// two-integer form keeps ours in their own class ("LK").
const LOCK_CLASS = 0x4c4b;

/**
 * Runs one job under a PostgreSQL advisory lock: `pg_try_advisory_xact_lock` in the transaction
 * that does the job's work, so with several instances on one database exactly one runs it at a
 * time (the others get "busy" at once, they never wait), and the lock goes with the commit or
 * the rollback, even if the process dies. The run is recorded in job_runs in the same
 * transaction, and audited (one job.ran row, actor "Scheduled job") when it changed anything.
 * The embedded database has one instance; the lock works there the same way.
 */
export async function runJob<Later>(database: Database, job: Job<Later>, options: RunOptions = {}): Promise<JobOutcome> {
  const now = options.now ?? new Date();
  let later: { value: Later } | undefined;
  let outcome: JobOutcome;
  try {
    outcome = await database.transaction(async (tx) => {
      const [lock] = await tx.execute<{ locked: boolean }>(
        sql`select pg_try_advisory_xact_lock(${LOCK_CLASS}, hashtext(${job.name})) as locked`,
      );
      if (!lock?.locked) return { status: "busy" } as const;
      if (options.minGapMs) {
        const [last] = await tx.select({ at: jobRuns.lastStartedAt }).from(jobRuns).where(eq(jobRuns.name, job.name)).limit(1);
        const since = last?.at ? now.getTime() - last.at.getTime() : Infinity;
        // (A start "in the future" is a clock that went back: run rather than stall.)
        if (since >= 0 && since < options.minGapMs) return { status: "not_due" } as const;
      }
      const result = await job.run(tx, now);
      if (result.later !== undefined) later = { value: result.later };
      await recordRun(tx, job.name, now, result.summary, null);
      if (Object.values(result.summary).some((n) => n > 0)) {
        await recordAudit(tx, SYSTEM_ACTOR, { action: "job.ran", targetLabel: job.name, metadata: { job: job.name, ...result.summary } });
      }
      return { status: "ran", summary: result.summary } as const;
    });
  } catch (error) {
    // The work rolled back; the failure is still a run (so a failing job waits its turn too).
    await database.transaction((tx) => recordRun(tx, job.name, now, null, error)).catch(() => {});
    throw error;
  }
  if (outcome.status === "ran" && later && job.afterCommit) {
    const more = await job.afterCommit(later.value, database);
    const summary = { ...outcome.summary, ...more };
    await database.update(jobRuns).set({ lastResult: summary, lastFinishedAt: new Date() }).where(eq(jobRuns.name, job.name));
    return { status: "ran", summary };
  }
  return outcome;
}

async function recordRun(tx: Tx, name: string, startedAt: Date, summary: JobSummary | null, error: unknown): Promise<void> {
  // Never the raw message: a failed query's holds its parameters (describeError leaves them out).
  const lastError = error === null ? null : describeError(error);
  await tx
    .insert(jobRuns)
    .values({ name, lastStartedAt: startedAt, lastFinishedAt: new Date(), runs: 1, lastResult: summary, lastError })
    .onConflictDoUpdate({
      target: jobRuns.name,
      set: { lastStartedAt: startedAt, lastFinishedAt: new Date(), runs: sql`${jobRuns.runs} + 1`, lastResult: summary, lastError },
    });
}
