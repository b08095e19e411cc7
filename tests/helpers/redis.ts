import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

/** A port nobody listens on right now (the system picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on `port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

export interface ThrowawayRedis {
  port: number;
  url: string;
  /** Starts it (again) on its port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, nothing is answered, as a stalled server. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
  /** Kills it at once (SIGKILL: as a crash, nothing said to the clients); resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own, on a free port, nothing saved to disk: tests that stop Redis
 * never touch the shared one, and no test sees another's counters.
 */
export async function throwawayRedis(port?: number): Promise<ThrowawayRedis> {
  const chosen = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const redis: ThrowawayRedis = {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    async start() {
      if (child) return;
      const started = spawn("redis-server", ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      child = started;
      started.once("exit", () => {
        if (child === started) child = undefined;
      });
      for (let i = 0; i < 200 && !(await listening(chosen)); i++) {
        if (started.exitCode !== null) throw new Error(`redis-server on ${chosen} exited (${started.exitCode})`);
        await new Promise((r) => setTimeout(r, 25));
      }
      if (!(await listening(chosen))) throw new Error(`redis-server on ${chosen} did not start`);
    },
    pause() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once("exit", () => resolve());
        running.kill("SIGKILL"); // also ends a paused one
      });
      child = undefined;
    },
  };
  return redis;
}
