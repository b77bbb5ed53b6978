/**
 * A minimal Kafka wire-protocol connection for the hot paths (reading a day's offset range), where
 * kafkajs's per-record objects (strings for offsets and timestamps, a Buffer copy per key and
 * value) cost more than the work itself. Admin, metadata and consumer groups stay on kafkajs.
 * https://kafka.apache.org/protocol
 */
import { connect, isIP, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions as TlsOptions } from 'node:tls';
import type { KafkaSecurity, KafkaTls } from '../../core/config.js';
import { ErrorCodes, GamepipeError, STACK_HINT } from '../../core/errors.js';
import { WireWriter } from './codec.js';
import { authenticate } from './sasl.js';

export interface ConnectionOptions {
  clientId?: string;
  /** How long a request may wait for its answer before the connection is given up. */
  timeoutMs?: number;
  /**
   * > 0: response buffers are reused, each after `recycle` more responses, sparing big
   * allocations (and the garbage collections they cause) to a caller that reads one response
   * after another and keeps nothing of it by then. They are kept in `pool`, which a caller may
   * hand from one closed connection to the next.
   */
  recycle?: number;
  pool?: Buffer[];
  /** TLS and SASL, as the config says; plaintext without. */
  security?: KafkaSecurity | undefined;
}

/** Node's TLS options for a broker: the config's CA and client certificate, the name checked. */
export function tlsOptions(tls: KafkaTls, host?: string): TlsOptions {
  return {
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.cert !== undefined && { cert: tls.cert, key: tls.key }),
    // SNI takes a host name only; the certificate is still checked against an IP address
    ...(host !== undefined && isIP(host) === 0 && { servername: host }),
    rejectUnauthorized: true,
    ...(!tls.checkHostname && { checkServerIdentity: () => undefined }),
  };
}

export const TLS_HINT =
  "set kafkaSslCaFile to the CA that signed the brokers' certificates, and connect by a name " +
  'the certificate holds';

/** Node's codes for a certificate the client does not accept: no retry will change them. */
export const CERTIFICATE =
  /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ALTNAME|HOSTNAME|ERR_SSL|ERR_TLS/;

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (err: Error) => void;
}

/**
 * One TCP connection to one broker: requests are framed (int32 size), tagged with a correlation
 * id and may be pipelined; responses are matched by that id.
 */
export class KafkaConnection {
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  /** The size prefix being read, and the response being filled. */
  private readonly head = Buffer.alloc(4);
  private headFill = 0;
  private frame: Buffer | undefined;
  private frameSize = 0;
  private frameFill = 0;
  private poolNext = 0;
  /** Whether any answer came: a listener that closes before one may speak another protocol. */
  private answered = false;
  private readonly clientId: string;
  private readonly timeoutMs: number;
  private readonly recycle: number;
  private readonly security: KafkaSecurity | undefined;
  readonly pool: Buffer[];

  constructor(
    readonly host: string,
    readonly port: number,
    {
      clientId = 'gamepipe',
      timeoutMs = 30_000,
      recycle = 0,
      pool = [],
      security,
    }: ConnectionOptions = {},
  ) {
    this.clientId = clientId;
    this.timeoutMs = timeoutMs;
    this.recycle = recycle;
    this.pool = pool;
    this.security = security;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Connects (TLS when configured) and logs in (SASL when configured). */
  async connect(connectTimeoutMs = 3_000): Promise<void> {
    const tls = this.security?.tls;
    await new Promise<void>((resolve, reject) => {
      const socket = tls
        ? connectTls({ host: this.host, port: this.port, ...tlsOptions(tls, this.host) })
        : connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(this.unreachable(new Error(`connection timed out after ${connectTimeoutMs} ms`)));
      }, connectTimeoutMs);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(this.unreachable(err));
      });
      this.socket = socket;
    });
    const socket = this.socket as Socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (err) => this.fail(this.unreachable(err)));
    socket.on('close', () =>
      this.fail(this.unreachable(new Error('the broker closed the connection'))),
    );
    const sasl = this.security?.sasl;
    if (sasl) {
      try {
        await authenticate((k, v, b) => this.request(k, v, b), this.address, sasl);
      } catch (err) {
        this.close();
        throw err;
      }
    }
  }

  private unreachable(cause: Error): GamepipeError {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    if (CERTIFICATE.test(code)) {
      return new GamepipeError(
        ErrorCodes.kafkaAuth,
        `Kafka at ${this.address} has a certificate gamepipe does not accept (${code}: ${cause.message})`,
        {
          hint: TLS_HINT,
          cause,
          context: { brokers: this.address },
        },
      );
    }
    const protocol = this.security?.protocol ?? 'PLAINTEXT';
    const early = !this.answered && /closed|ECONNRESET|EPROTO/.test(`${code} ${cause.message}`);
    return new GamepipeError(
      ErrorCodes.kafkaUnavailable,
      `Kafka at ${this.address} is unreachable (${cause.message})`,
      {
        hint: early
          ? `${STACK_HINT}; if it is up, check that kafkaSecurityProtocol (${protocol}) is what this listener speaks`
          : STACK_HINT,
        cause,
        retriable: true,
        context: { brokers: this.address },
      },
    );
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.socket?.destroy();
  }

  /** Sends one request; resolves with the response body after the correlation id. */
  request(apiKey: number, apiVersion: number, body: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    const socket = this.socket;
    if (!socket) return Promise.reject(this.unreachable(new Error('not connected')));
    const id = this.nextId++ & 0x7fffffff;
    const header = new WireWriter()
      .int32(0) // size, filled in below
      .int16(apiKey)
      .int16(apiVersion)
      .int32(id)
      .string(this.clientId)
      .toBuffer();
    header.writeInt32BE(header.length - 4 + body.length, 0);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(
          new GamepipeError(
            ErrorCodes.kafkaUnavailable,
            `Kafka at ${this.address} did not answer within ${this.timeoutMs} ms`,
            { hint: STACK_HINT, retriable: true, context: { brokers: this.address } },
          ),
        );
      }, this.timeoutMs);
      this.pending.set(id, {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      // one system call for the whole request
      socket.cork();
      socket.write(header);
      socket.write(body);
      socket.uncork();
    });
  }

  private onData(d: Buffer): void {
    let pos = 0;
    while (pos < d.length) {
      if (!this.frame) {
        const take = Math.min(4 - this.headFill, d.length - pos);
        d.copy(this.head, this.headFill, pos, pos + take);
        this.headFill += take;
        pos += take;
        if (this.headFill < 4) return;
        this.headFill = 0;
        this.frameSize = this.head.readInt32BE(0);
        this.frameFill = 0;
        this.frame = this.frameBuffer(this.frameSize);
      }
      const take = Math.min(this.frameSize - this.frameFill, d.length - pos);
      d.copy(this.frame, this.frameFill, pos, pos + take);
      this.frameFill += take;
      pos += take;
      if (this.frameFill < this.frameSize) return;
      const frame = this.frame.subarray(0, this.frameSize);
      this.frame = undefined;
      this.answered = true;
      const id = frame.readInt32BE(0);
      const p = this.pending.get(id);
      if (p) {
        this.pending.delete(id);
        p.resolve(frame.subarray(4));
      }
    }
  }

  private frameBuffer(size: number): Buffer {
    if (this.recycle <= 0) return Buffer.allocUnsafe(size);
    const slot = this.poolNext;
    this.poolNext = (slot + 1) % this.recycle;
    const have = this.pool[slot];
    if (have && have.length >= size) return have;
    const fresh = Buffer.allocUnsafe(size);
    this.pool[slot] = fresh;
    return fresh;
  }

  close(): void {
    this.failure ??= this.unreachable(new Error('the connection was closed'));
    this.socket?.end();
    this.socket?.destroy();
  }
}

export function parseBroker(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}
