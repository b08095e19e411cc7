import net from "node:net";

export interface RawAnswer {
  /** The status line and headers, as received. */
  head: string;
  status: number;
  /** Everything after the headers, as received (chunk sizes included when chunked). */
  payload: string;
  /** Whether the server ended the connection cleanly (FIN), not reset it. */
  ended: boolean;
}

/**
 * One HTTP/1.1 exchange on a socket of its own, for what a client library will not send (a
 * malformed request, a body split across writes at chosen times, a body the server refuses
 * half-way). `write` sends the request; the answer is what arrived until the server ended the
 * connection (so the request should ask for `Connection: close`, or be one the server closes on).
 */
export async function rawExchange(port: number, write: (socket: net.Socket) => void | Promise<void>): Promise<RawAnswer> {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (received += chunk));
  socket.on("error", () => {}); // what is still being written may meet a closed socket (EPIPE)
  let ended = false;
  const done = new Promise<void>((resolve) => {
    socket.once("end", () => {
      ended = true;
      resolve();
    });
    socket.once("close", () => resolve());
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  await write(socket);
  await done;
  socket.destroy();
  const split = received.indexOf("\r\n\r\n");
  const head = split < 0 ? received : received.slice(0, split);
  return { head, status: Number(head.split(" ")[1]), payload: split < 0 ? "" : received.slice(split + 4), ended };
}

/** Resolves after `ms`: for writes spaced in time. */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
