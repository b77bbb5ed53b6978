/**
 * The one error type of gamepipe. Users and tests match on `code`, never on the message.
 * `hint` is the one line that tells the user what to do next.
 */
export const ErrorCodes = {
  usage: 'GP_USAGE',
  config: 'GP_CONFIG',
  kafkaUnavailable: 'GP_KAFKA_UNAVAILABLE',
  kafka: 'GP_KAFKA',
  kafkaCorrupt: 'GP_KAFKA_CORRUPT',
  kafkaAuth: 'GP_KAFKA_AUTH',
  topicExists: 'GP_TOPIC_EXISTS',
  topicNotFound: 'GP_TOPIC_NOT_FOUND',
  hdfsUnavailable: 'GP_HDFS_UNAVAILABLE',
  hdfsNotFound: 'GP_HDFS_NOT_FOUND',
  hdfsExists: 'GP_HDFS_EXISTS',
  hdfsNotDirectory: 'GP_HDFS_NOT_DIRECTORY',
  hdfsPermission: 'GP_HDFS_PERMISSION',
  hdfsNoSpace: 'GP_HDFS_NO_SPACE',
  hdfs: 'GP_HDFS',
  stackRequirement: 'GP_STACK_REQUIREMENT',
  stackStart: 'GP_STACK_START',
  stackTimeout: 'GP_STACK_TIMEOUT',
  dockerUnavailable: 'GP_DOCKER_UNAVAILABLE',
  badEvent: 'GP_BAD_EVENT',
  badJson: 'GP_BAD_JSON',
  badRequest: 'GP_BAD_REQUEST',
  badHost: 'GP_BAD_HOST',
  requestTimeout: 'GP_REQUEST_TIMEOUT',
  headersTooLarge: 'GP_HEADERS_TOO_LARGE',
  urlTooLong: 'GP_URL_TOO_LONG',
  internal: 'GP_INTERNAL',
  bodyTooLarge: 'GP_BODY_TOO_LARGE',
  batchTooLarge: 'GP_BATCH_TOO_LARGE',
  routeNotFound: 'GP_ROUTE_NOT_FOUND',
  methodNotAllowed: 'GP_METHOD_NOT_ALLOWED',
  unauthorized: 'GP_UNAUTHORIZED',
  produceTimeout: 'GP_PRODUCE_TIMEOUT',
  overloaded: 'GP_OVERLOADED',
  apiUnavailable: 'GP_API_UNAVAILABLE',
  badDate: 'GP_BAD_DATE',
  dateInFuture: 'GP_DATE_IN_FUTURE',
  extractShrink: 'GP_EXTRACT_SHRINK',
  extractStalled: 'GP_EXTRACT_STALLED',
  dateLocked: 'GP_DATE_LOCKED',
  extractThread: 'GP_EXTRACT_THREAD',
  leaseLost: 'GP_LEASE_LOST',
  noData: 'GP_NO_DATA',
  corruptFile: 'GP_CORRUPT_FILE',
  sparkMissing: 'GP_SPARK_MISSING',
  sparkFailed: 'GP_SPARK_FAILED',
  noLog: 'GP_NO_LOG',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface GamepipeErrorOptions {
  /** What the user should do next, one line. */
  hint?: string;
  cause?: unknown;
  /** Where it happened: broker, path, topic, url... */
  context?: Record<string, unknown>;
  /** Whether the same call may succeed if retried later. */
  retriable?: boolean;
}

export class GamepipeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly context: Record<string, unknown>;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: GamepipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GamepipeError';
    this.code = code;
    this.hint = options.hint;
    this.context = options.context ?? {};
    this.retriable = options.retriable ?? false;
  }
}

export const STACK_HINT = 'is the stack up? run `gamepipe up` (or `gamepipe status` to see)';
