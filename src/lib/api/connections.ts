import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { answerSocket, clientErrorAnswer } from './http.js';

/**
 * What each connection has in flight, so that a broken connection is answered right.
 *
 * A pipelining client sends several requests before it reads the answers. When malformed bytes
 * follow whole requests, the 400 that closes the connection is held back until those requests
 * are answered: the client must get the 2xx of every event that went to Kafka first, or it takes
 * the 400 for that answer, retries, and the event lands twice. A request still reading its body
 * (or cut off at the timeout) is the broken one: it produced nothing, and the server's answer is
 * its answer, which the log and the metrics then report instead of the handler's failure.
 */
export class ConnectionTracker {
  private readonly pending = new WeakMap<Socket, Set<IncomingMessage>>();
  private readonly heldBack = new WeakMap<Socket, () => void>();
  private readonly answered = new WeakMap<Socket, number>();

  /** A request arrived on its connection. */
  begin(req: IncomingMessage): void {
    let inFlight = this.pending.get(req.socket);
    if (!inFlight) this.pending.set(req.socket, (inFlight = new Set()));
    inFlight.add(req);
  }

  /**
   * The request's handler is done: the status the client really got (the server's own answer,
   * if it wrote one), and a held-back error answer goes out once nothing is in flight.
   */
  end(req: IncomingMessage, socket: Socket, status: number): number {
    const inFlight = this.pending.get(socket);
    inFlight?.delete(req);
    const got = this.answered.get(socket) ?? status;
    if (!inFlight || inFlight.size === 0) this.heldBack.get(socket)?.();
    return got;
  }

  /**
   * The HTTP parser gave up on a connection (a timeout, malformed bytes, an overflow). `record`
   * logs an answer that belongs to no request in flight.
   */
  clientError(
    err: NodeJS.ErrnoException & { rawPacket?: Buffer },
    socket: Socket,
    record: (status: number) => void,
  ): void {
    if (this.answered.has(socket) || this.heldBack.has(socket)) {
      // already answered, or an answer is waiting (the client then left, say): it stands
      if (!this.heldBack.has(socket)) socket.destroy();
      return;
    }
    const { status, code, message } = clientErrorAnswer(err);
    const inFlight = this.pending.get(socket);
    const answer = (): void => {
      this.heldBack.delete(socket);
      answerSocket(socket, status, code, message);
    };
    const broken =
      inFlight !== undefined && [...inFlight].some((r) => !r.complete || status === 408);
    this.answered.set(socket, status);
    if (broken) {
      answer();
      return;
    }
    // bytes after whole requests: they get their answers first, then this one
    record(status);
    if (inFlight !== undefined && inFlight.size > 0) {
      this.answered.delete(socket);
      this.heldBack.set(socket, answer);
    } else {
      answer();
    }
  }
}
