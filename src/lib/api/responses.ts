import type { ServerResponse } from 'node:http';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { HttpError } from './http.js';

/** Writes the API's answers: JSON or text, errors by their kind; `connection: close` once closing. */
export class Responder {
  /** Set when the server is shutting down: answers tell keep-alive clients to go. */
  closing = false;

  json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): number {
    return this.text(res, status, JSON.stringify(body) + '\n', {
      'content-type': 'application/json',
      ...headers,
    });
  }

  text(
    res: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> = {},
  ): number {
    if (res.headersSent) return status;
    const h: Record<string, string | number> = {
      'content-type': 'text/plain; charset=utf-8',
      ...headers,
      'content-length': Buffer.byteLength(text),
    };
    if (this.closing) h.connection = 'close';
    res.writeHead(status, h).end(text);
    return status;
  }

  error(res: ServerResponse, err: unknown): number {
    if (err instanceof HttpError) {
      return this.json(
        res,
        err.status,
        { error: { code: err.code, message: err.message } },
        err.headers,
      );
    }
    if (err instanceof GamepipeError) {
      if (err.code === ErrorCodes.badEvent) {
        return this.json(res, 400, { error: { code: err.code, message: err.message } });
      }
      // anything else from Kafka (down, slow, the topic missing) means we cannot take events now
      return this.json(
        res,
        503,
        { error: { code: err.code, message: err.message } },
        { 'retry-after': '1' },
      );
    }
    return this.json(res, 500, { error: { code: ErrorCodes.internal, message: 'internal error' } });
  }
}
