import type { KafkaAccess } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { wrapKafkaError } from './admin.js';
import { PartialSendError, WireProducer } from './protocol/produce.js';
import type { OutMessage } from './protocol/record-batch.js';

export interface EventProducerOptions extends KafkaAccess {
  topic: string;
  /** How long the first message of an idle producer waits for company before it is sent. */
  lingerMs?: number;
  /** At most this many messages in one produce request. */
  maxBatchMessages?: number;
  /**
   * Produce requests sent before the first is acknowledged (Kafka keeps the order of up to 5 per
   * partition for an idempotent producer).
   */
  maxInFlight?: number;
  /** A message not acknowledged within this time is failed (the caller answers 503). */
  ackTimeoutMs?: number;
  /** Where to connect for a broker's address (tests put a proxy in between). */
  route?: (address: string) => string;
  /** Refuse new messages beyond this many waiting (the caller answers 503). */
  maxQueuedMessages?: number;
  /** After a failed send, fail fast for this long before trying Kafka again. */
  backoffMs?: number;
  /** Called once per message with the time from enqueue to acknowledgement. */
  onAck?: (latencyMs: number) => void;
}

interface Pending {
  messages: readonly OutMessage[];
  enqueuedAt: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: GamepipeError) => void;
}

/**
 * Idempotent producers (kafka-produce.ts) with `acks=all` behind a small batcher: concurrent callers share
 * produce requests (one in flight; everything that queued meanwhile goes in the next), so throughput is not one broker round trip per caller. `send` resolves only once Kafka has
 * acknowledged the messages; it rejects with a coded, retriable error when Kafka is down, slow
 * or the queue is full, and the producer recovers by itself when Kafka is back.
 */
export class EventProducer {
  private readonly opts: Required<Omit<EventProducerOptions, 'onAck' | keyof KafkaAccess>> &
    Pick<EventProducerOptions, 'onAck'>;
  private readonly access: KafkaAccess;
  private producer: WireProducer | undefined;
  private connecting: Promise<WireProducer> | undefined;
  /** The batches waiting for their acknowledgement, each with the time it was sent. */
  private readonly inFlight = new Map<Pending[], number>();
  private queue: Pending[] = [];
  private queuedMessages = 0;
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout;
  private failedUntil = 0;
  private lastError: GamepipeError | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor({
    brokers,
    kafkaSecurity,
    topic,
    lingerMs = 0,
    maxBatchMessages = 2_000,
    maxInFlight = 2,
    ackTimeoutMs = 5_000,
    maxQueuedMessages = 50_000,
    backoffMs = 1_000,
    route = (address: string) => address,
    onAck,
  }: EventProducerOptions) {
    this.access = { brokers, kafkaSecurity };
    this.opts = {
      topic,
      lingerMs,
      maxBatchMessages,
      maxInFlight,
      ackTimeoutMs,
      maxQueuedMessages,
      backoffMs,
      route,
      onAck,
    };
    this.sweeper = setInterval(() => this.sweep(), Math.min(250, ackTimeoutMs / 4));
    this.sweeper.unref();
  }

  /** False while Kafka is failing or too slow. */
  get healthy(): boolean {
    return Date.now() >= this.failedUntil && !this.stalled();
  }

  get lastFailure(): GamepipeError | undefined {
    return this.lastError;
  }

  /** Connects now, so the first request does not pay for it; failures are retried on send. */
  async connect(): Promise<void> {
    await this.client();
  }

  /** Resolves when Kafka acknowledged every message (acks=all). */
  send(messages: readonly OutMessage[]): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        new GamepipeError(ErrorCodes.kafkaUnavailable, 'the producer is shutting down', {
          retriable: true,
        }),
      );
    }
    if (Date.now() < this.failedUntil && this.lastError) return Promise.reject(this.lastError);
    if (this.stalled()) return Promise.reject(this.timeoutError());
    if (this.queuedMessages + messages.length > this.opts.maxQueuedMessages) {
      return Promise.reject(
        new GamepipeError(
          ErrorCodes.overloaded,
          `more than ${this.opts.maxQueuedMessages} events are waiting for Kafka`,
          {
            hint: 'retry later; Kafka is slower than the incoming load',
            retriable: true,
          },
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ messages, enqueuedAt: Date.now(), settled: false, resolve, reject });
      this.queuedMessages += messages.length;
      this.schedule();
    });
  }

  /** Waits until nothing is queued or in flight. */
  async flush(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Flushes what is queued, then disconnects. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.timer) {
      clearTimeout(this.timer);
      clearImmediate(this.timer as unknown as NodeJS.Immediate);
    }
    // a connection still being made (serve failing to listen right after start) must not
    // outlive the close and keep the process alive
    await this.connecting?.catch(() => undefined);
    const p = this.producer;
    this.producer = undefined;
    p?.close();
  }

  /** True while a request has waited longer than the ack timeout. */
  private stalled(): boolean {
    const limit = Date.now() - this.opts.ackTimeoutMs;
    for (const since of this.inFlight.values()) if (since < limit) return true;
    return false;
  }

  private timeoutError(): GamepipeError {
    return new GamepipeError(
      ErrorCodes.produceTimeout,
      `Kafka at ${this.access.brokers.join(',')} did not acknowledge within ${this.opts.ackTimeoutMs}ms`,
      { hint: 'retry later; check `gamepipe status`', retriable: true },
    );
  }

  private async client(): Promise<WireProducer> {
    if (this.producer) return this.producer;
    // a new producer id each time, so sequence numbers start clean after a failure
    this.connecting ??= WireProducer.connect(this.access, this.opts.topic, {
      timeoutMs: this.opts.ackTimeoutMs + 1_000,
      route: this.opts.route,
    })
      .then((producer) => {
        if (this.closed) {
          producer.close();
          throw new GamepipeError(ErrorCodes.kafkaUnavailable, 'the producer is shutting down', {
            retriable: true,
          });
        }
        return (this.producer = producer);
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private schedule(): void {
    // while maxInFlight requests are out, what queues meanwhile waits and goes next together
    if (this.timer || this.queue.length === 0 || this.inFlight.size >= this.opts.maxInFlight)
      return;
    if (this.queuedMessages >= this.opts.maxBatchMessages) {
      void this.drain();
      return;
    }
    const fire = (): void => {
      this.timer = undefined;
      void this.drain();
    };
    // linger 0 still gathers every request that arrived in the same turn of the event loop
    this.timer =
      this.opts.lingerMs > 0
        ? setTimeout(fire, this.opts.lingerMs)
        : (setImmediate(fire) as unknown as NodeJS.Timeout);
  }

  private async drain(): Promise<void> {
    if (this.inFlight.size >= this.opts.maxInFlight || this.queue.length === 0) return;
    const batch: Pending[] = [];
    let count = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (batch.length > 0 && count + next.messages.length > this.opts.maxBatchMessages) break;
      this.queue.shift();
      if (next.settled) continue;
      batch.push(next);
      count += next.messages.length;
    }
    this.queuedMessages -= count;
    if (batch.length === 0) return this.afterSend();
    this.inFlight.set(batch, Date.now());
    let producer: WireProducer | undefined;
    try {
      producer = await this.client();
      await producer.send(
        batch.length === 1 ? (batch[0] as Pending).messages : batch.flatMap((p) => p.messages),
        this.opts.ackTimeoutMs,
      );
      const now = Date.now();
      for (const p of batch) this.acknowledge(p, now);
      this.failedUntil = 0;
      this.lastError = undefined;
    } catch (err) {
      const wrapped = wrapKafkaError(err, { brokers: this.access.brokers, topic: this.opts.topic });
      const error =
        wrapped.code === ErrorCodes.kafka && wrapped.retriable
          ? new GamepipeError(ErrorCodes.kafkaUnavailable, wrapped.message, {
              cause: err,
              retriable: true,
            })
          : wrapped;
      this.lastError = error;
      this.failedUntil = Date.now() + this.opts.backoffMs;
      // a request whose events all went to partitions that acknowledged landed: it is answered
      // as such; only the others may not have landed
      const acknowledged = err instanceof PartialSendError ? err.acknowledged : undefined;
      const sentBy = producer;
      const now = Date.now();
      const landed = (p: Pending): boolean =>
        acknowledged !== undefined &&
        sentBy !== undefined &&
        p.messages.every((m) => acknowledged.has(sentBy.partitionFor(m.key)));
      for (const p of batch) {
        if (landed(p)) this.acknowledge(p, now);
        else if (!p.settled) {
          p.settled = true;
          p.reject(error);
        }
      }
      // start the next attempt with a fresh producer id and sequence numbers
      // (the requests behind this one on the same producer fail too: their sequence numbers no
      // longer follow on, so the broker refuses them and their callers get 503 as well)
      if (producer && this.producer === producer) this.producer = undefined;
      producer?.close();
      // what queued meanwhile would hit the same failure: fail it now rather than let it wait
      this.failQueued(error);
    } finally {
      this.inFlight.delete(batch);
    }
    this.afterSend();
  }

  /** Answers a request whose every event Kafka acknowledged. */
  private acknowledge(p: Pending, now: number): void {
    if (p.settled) return;
    p.settled = true;
    for (let i = 0; i < p.messages.length; i++) this.opts.onAck?.(now - p.enqueuedAt);
    p.resolve();
  }

  private afterSend(): void {
    if (this.queue.length > 0) {
      this.schedule();
      return;
    }
    if (this.inFlight.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private failQueued(error: GamepipeError): void {
    for (const p of this.queue) {
      if (p.settled) continue;
      p.settled = true;
      p.reject(error);
    }
    this.queue = [];
    this.queuedMessages = 0;
  }

  /** Fails what waited longer than the ack timeout; what is in flight may still land. */
  private sweep(): void {
    const limit = Date.now() - this.opts.ackTimeoutMs;
    const expired = (p: Pending): boolean => !p.settled && p.enqueuedAt < limit;
    const targets = [...[...this.inFlight.keys()].flat(), ...this.queue].filter(expired);
    if (targets.length === 0) return;
    const error = this.timeoutError();
    for (const p of targets) {
      p.settled = true;
      p.reject(error);
    }
    const before = this.queue.length;
    this.queue = this.queue.filter((p) => !p.settled);
    if (this.queue.length !== before) {
      this.queuedMessages = this.queue.reduce((n, p) => n + p.messages.length, 0);
    }
  }
}
