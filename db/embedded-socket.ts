/**
 * The embedded database reached without a network: an in-process "socket" that postgres.js
 * (through its `socket` option) writes Postgres protocol bytes to, which are fed to PGlite's wire
 * protocol entry point one message at a time, with PGlite's answers coming back as 'data'.
 * Nothing listens, so no other process can connect.
 *
 * Each open database is one EmbeddedBackend; its connections are made by its `socket()`, so a
 * connection can only reach the database it was made for. Only type imports from PGlite here, so
 * importing this module (db/client.ts does) never loads the database engine.
 */
import { EventEmitter } from "node:events";
import type { PGlite } from "@electric-sql/pglite";

/** The URL postgres.js is given for the embedded database: a marker, never a network address. */
export const EMBEDDED_URL = "postgres://postgres@latchkey-embedded.invalid/postgres";

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
/** Message types (their first byte): Sync and a simple Query end a protocol cycle; Terminate ends the connection. */
const SYNC_TYPE = 0x53; // 'S'
const QUERY_TYPE = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'

const SYNC = Buffer.from([0x53, 0, 0, 0, 4]); // 'S'
const ROLLBACK = queryMessage("rollback");

function queryMessage(text: string): Buffer {
  const body = Buffer.from(`${text}\0`, "utf8");
  const header = Buffer.alloc(5);
  header.write("Q", 0, "latin1");
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * One PGlite session shared by the process's connections. PGlite runs one backend, so a
 * connection that is inside a protocol cycle (up to Sync or a simple Query) or an open
 * transaction keeps it until that ends; the others wait their turn.
 */
export class EmbeddedBackend {
  private owner: InProcessSocket | null = null;
  private waiters: (() => void)[] = [];
  readonly sockets = new Set<InProcessSocket>();

  constructor(readonly pg: PGlite) {}

  /** postgres.js's `socket` option: a new in-process connection to this database. */
  socket(): InProcessSocket {
    if (this.closed || this.pg.closed) throw new Error("The embedded database is not open.");
    return new InProcessSocket(this);
  }

  private closed = false;

  /** Refuses new connections and cuts the open ones (their pending queries fail). */
  close(): void {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy(new Error("The embedded database was closed."));
  }

  async acquire(socket: InProcessSocket): Promise<void> {
    while (this.owner && this.owner !== socket) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.owner = socket;
  }

  release(socket: InProcessSocket): void {
    if (this.owner !== socket) return;
    this.owner = null;
    const next = this.waiters.splice(0);
    for (const wake of next) wake();
  }

  /**
   * Runs protocol messages (one or several, whole); answers go to `onData`. PGlite's backend reads
   * every message of the buffer in one call. Its file system is synced (a no-op for a folder on
   * disk, whose writes go straight to the files, but PGlite's own step, with a lock of its own)
   * only where a cycle ends.
   */
  async exec(messages: Uint8Array, onData: (data: Uint8Array) => void, cycleEnds = true): Promise<void> {
    await this.pg.runExclusive(() => this.pg.execProtocolRawStream(messages, { onRawData: onData, syncToFs: cycleEnds }));
  }

  /** A connection went away mid-cycle: end its extended-protocol cycle and its transaction. */
  async abandon(socket: InProcessSocket): Promise<void> {
    if (this.owner !== socket) return;
    try {
      if (!this.pg.closed) {
        await this.exec(SYNC, () => {});
        if (this.pg.isInTransaction()) await this.exec(ROLLBACK, () => {});
      }
    } catch {
      // the database is closing: nothing left to clean
    } finally {
      this.release(socket);
    }
  }
}

/** The embedded database `pg`, reachable by in-process connections (see `socket()`). */
export function createEmbeddedBackend(pg: PGlite): EmbeddedBackend {
  return new EmbeddedBackend(pg);
}

/**
 * The part of net.Socket that postgres.js uses: write(chunk, cb), end(), destroy(), pause(),
 * resume(), readyState, and the 'data', 'error', 'close' and 'drain' events.
 */
export class InProcessSocket extends EventEmitter {
  readyState: "open" | "closed" = "open";
  private inbound = Buffer.alloc(0);
  private started = false;
  private pumping = false;
  private paused = false;
  private ending = false;
  private outbound: Buffer[] = [];

  constructor(private readonly backend: EmbeddedBackend) {
    super();
    backend.sockets.add(this);
  }

  write(chunk: Uint8Array | string, callback?: (error?: Error | null) => void): boolean {
    if (this.readyState !== "open" || this.ending) {
      const error = new Error("The embedded database connection is closed.");
      if (callback) queueMicrotask(() => callback(error));
      return false;
    }
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.inbound = this.inbound.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.inbound, bytes]);
    void this.pump();
    if (callback) queueMicrotask(() => callback(null));
    return true;
  }

  end(chunk?: Uint8Array | string): this {
    if (chunk !== undefined && this.readyState === "open" && !this.ending) this.write(chunk);
    this.ending = true;
    if (!this.pumping) void this.pump();
    return this;
  }

  destroy(error?: Error): this {
    if (this.readyState === "closed") return this;
    this.readyState = "closed";
    this.inbound = Buffer.alloc(0);
    this.outbound = [];
    this.backend.sockets.delete(this);
    void this.backend.abandon(this);
    setImmediate(() => {
      if (error) this.emit("error", error);
      this.emit("close", Boolean(error));
    });
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    this.flush();
    return this;
  }

  private push(data: Buffer): void {
    if (data.length === 0 || this.readyState !== "open") return;
    this.outbound.push(data);
    this.flush();
  }

  private flush(): void {
    while (!this.paused && this.outbound.length > 0 && this.readyState === "open") this.emit("data", this.outbound.shift());
  }

  /**
   * Takes what can run next off the inbound buffer: before startup, its one message (they have
   * no type byte: length, then a code); after it, every complete message there is, up to a
   * Terminate (which is taken alone), as one batch whose last message's type says whether it
   * ends a cycle. Undefined while nothing complete has arrived.
   */
  private nextBatch(): { kind: "startup" | "ssl" | "cancel" | "messages" | "terminate"; last: number; bytes: Buffer } | undefined {
    const buffer = this.inbound;
    if (!this.started) {
      if (buffer.length < 8) return undefined;
      const length = buffer.readInt32BE(0);
      if (buffer.length < length) return undefined;
      const code = buffer.readInt32BE(4);
      const bytes = buffer.subarray(0, length);
      this.inbound = buffer.subarray(length);
      const kind = code === SSL_REQUEST ? "ssl" : code === CANCEL_REQUEST ? "cancel" : "startup";
      return { kind, last: 0, bytes };
    }
    let end = 0;
    let last = 0;
    while (buffer.length - end >= 5) {
      const type = buffer[end]!;
      const length = 1 + buffer.readInt32BE(end + 1);
      if (buffer.length - end < length) break;
      if (type === TERMINATE) {
        if (end > 0) break; // what came before it runs first
        this.inbound = buffer.subarray(length);
        return { kind: "terminate", last: type, bytes: buffer.subarray(0, length) };
      }
      end += length;
      last = type;
    }
    if (end === 0) return undefined;
    const bytes = buffer.subarray(0, end);
    this.inbound = buffer.subarray(end);
    return { kind: "messages", last, bytes };
  }

  /**
   * Feeds complete messages to PGlite in order, every message that has arrived in one call (the
   * client pipelines: a query's Bind, Execute and Sync come together, and so do the queries
   * queued behind it); one pump per connection. Each call costs the same few promises whatever
   * it carries, so under concurrent queries a batch is far cheaper than a call per message.
   */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.readyState !== "open") return;
        const batch = this.nextBatch();
        if (!batch) break;
        if (batch.kind === "ssl") {
          this.push(Buffer.from("N")); // no SSL in-process; the client goes on in plain text
          continue;
        }
        if (batch.kind === "cancel") {
          this.destroy(); // not supported; a cancel connection carries nothing else
          return;
        }
        if (batch.kind === "terminate") {
          // The client is done; the shared backend stays up.
          this.ending = true;
          break;
        }
        // A cycle ends at Sync or a simple Query; outside a transaction others may go next.
        const cycleEnds = batch.kind === "startup" || batch.last === SYNC_TYPE || batch.last === QUERY_TYPE;
        await this.backend.acquire(this);
        if (this.readyState !== "open") {
          this.backend.release(this);
          return;
        }
        const answers: Buffer[] = [];
        try {
          await this.backend.exec(batch.bytes, (data) => answers.push(Buffer.from(data)), cycleEnds);
        } catch (error) {
          this.destroy(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        if (batch.kind === "startup") this.started = true;
        if (cycleEnds && !this.backend.pg.isInTransaction()) this.backend.release(this);
        this.push(answers.length === 1 ? answers[0]! : Buffer.concat(answers));
      }
      if (this.ending) this.destroy();
    } finally {
      this.pumping = false;
    }
    // Bytes written while the last message ran.
    if (this.readyState === "open" && this.inbound.length > 0 && this.nextMessageReady()) void this.pump();
  }

  private nextMessageReady(): boolean {
    const buffer = this.inbound;
    if (!this.started) return buffer.length >= 8 && buffer.length >= buffer.readInt32BE(0);
    return buffer.length >= 5 && buffer.length >= 1 + buffer.readInt32BE(1);
  }
}
