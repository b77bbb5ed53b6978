import { request as httpRequest } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, request, type Dispatcher } from 'undici';
import { ErrorCodes, GamepipeError, STACK_HINT, type ErrorCode } from '../core/errors.js';

/** One entry of LISTSTATUS / GETFILESTATUS, as WebHDFS returns it. */
export interface FileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  owner: string;
  group: string;
  permission: string;
  modificationTime: number;
  accessTime: number;
  replication: number;
  blockSize: number;
}

export interface PathStatus extends FileStatus {
  path: string;
}

export type Body = string | Uint8Array | Readable;

export interface WebHdfsOptions {
  /** NameNode HTTP address, e.g. http://localhost:9870 */
  url: string;
  user: string;
  dispatcher?: Dispatcher;
  /** Time to wait for response headers. */
  timeoutMs?: number;
}

interface RemoteException {
  exception?: string;
  javaClassName?: string;
  message?: string;
}

const EXCEPTION_CODES: Record<string, ErrorCode> = {
  FileNotFoundException: ErrorCodes.hdfsNotFound,
  FileAlreadyExistsException: ErrorCodes.hdfsExists,
  ParentNotDirectoryException: ErrorCodes.hdfsNotDirectory,
  AccessControlException: ErrorCodes.hdfsPermission,
  DSQuotaExceededException: ErrorCodes.hdfsNoSpace,
  NSQuotaExceededException: ErrorCodes.hdfsNoSpace,
  DiskOutOfSpaceException: ErrorCodes.hdfsNoSpace,
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  [ErrorCodes.hdfsNotFound]: 'check the path with `gamepipe ls`',
  [ErrorCodes.hdfsExists]: 'pick another path or delete the existing one',
  [ErrorCodes.hdfsNotDirectory]:
    'a file stands where a directory is needed: move it or pick another base',
  [ErrorCodes.hdfsPermission]:
    'run as a user that may write there (--hdfs-user / GAMEPIPE_HDFS_USER)',
  [ErrorCodes.hdfsNoSpace]:
    'free space or raise the quota on HDFS, and check a DataNode is live (`gamepipe status`)',
  [ErrorCodes.hdfsUnavailable]:
    'no DataNode takes writes now: check them (`gamepipe status`), then rerun',
};

/**
 * A small typed WebHDFS client on undici. Every failure is a GamepipeError that names the path.
 */
export class WebHdfs {
  readonly url: string;
  readonly user: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;

  constructor({ url, user, dispatcher, timeoutMs = 30_000 }: WebHdfsOptions) {
    this.url = url.replace(/\/+$/, '');
    this.user = user;
    this.ownsDispatcher = dispatcher === undefined;
    this.dispatcher =
      dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
    this.timeoutMs = timeoutMs;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Creates a directory and its parents; true when it exists afterwards. */
  async mkdirs(path: string, { permission }: { permission?: string } = {}): Promise<boolean> {
    const res = await this.call<{ boolean: boolean }>('PUT', path, 'MKDIRS', { permission });
    return res.boolean;
  }

  /**
   * Writes a file in the two WebHDFS steps: the NameNode names a DataNode, the bytes go there.
   * The first request carries no body, so nothing is streamed into a redirect.
   */
  async create(
    path: string,
    body: Body,
    { overwrite = false, permission }: { overwrite?: boolean; permission?: string } = {},
  ): Promise<void> {
    const { Location } = await this.call<{ Location: string }>('PUT', path, 'CREATE', {
      overwrite: String(overwrite),
      permission,
      noredirect: 'true',
    });
    await putToDataNode(Location, body, this.timeoutMs, path)
      .catch((err: unknown) => {
        if (err instanceof GamepipeError) throw err;
        throw unreachable(new URL(Location).origin, 'DataNode', path, err);
      })
      .then(({ status, text }) => {
        if (status !== 201) throw remoteError(status, text, path, 'CREATE');
      });
  }

  /** Reads a whole file, or `length` bytes from `offset`. */
  async read(
    path: string,
    { offset, length }: { offset?: number; length?: number } = {},
  ): Promise<Buffer> {
    const { Location } = await this.call<{ Location: string }>('GET', path, 'OPEN', {
      offset: offset === undefined ? undefined : String(offset),
      length: length === undefined ? undefined : String(length),
      noredirect: 'true',
    });
    let res: Dispatcher.ResponseData;
    try {
      res = await request(Location, {
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw unreachable(new URL(Location).origin, 'DataNode', path, err);
    }
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200)
      throw remoteError(res.statusCode, bytes.toString('utf8'), path, 'OPEN');
    return bytes;
  }

  async listStatus(path: string): Promise<FileStatus[]> {
    const res = await this.call<{ FileStatuses: { FileStatus: FileStatus[] } }>(
      'GET',
      path,
      'LISTSTATUS',
    );
    return res.FileStatuses.FileStatus;
  }

  async getFileStatus(path: string): Promise<FileStatus> {
    const res = await this.call<{ FileStatus: FileStatus }>('GET', path, 'GETFILESTATUS');
    return res.FileStatus;
  }

  /**
   * Entries under a path with their full paths, like `hadoop fs -ls [-R]`; a file lists itself.
   */
  async list(
    path: string,
    { recursive = false }: { recursive?: boolean } = {},
  ): Promise<PathStatus[]> {
    const self = await this.getFileStatus(path);
    if (self.type !== 'DIRECTORY') return [{ ...self, path }];
    const out: PathStatus[] = [];
    const children = await this.listStatus(path);
    for (const child of children) {
      const full = `${path === '/' ? '' : path.replace(/\/+$/, '')}/${child.pathSuffix}`;
      out.push({ ...child, path: full });
      if (recursive && child.type === 'DIRECTORY') {
        out.push(...(await this.list(full, { recursive })).filter((e) => e.path !== full));
      }
    }
    return out;
  }

  /** Bytes, files and directories under a path (GETCONTENTSUMMARY), as `hdfs dfs -du -s` counts. */
  async contentSummary(
    path: string,
  ): Promise<{ length: number; fileCount: number; directoryCount: number }> {
    const res = await this.call<{
      ContentSummary: { length: number; fileCount: number; directoryCount: number };
    }>('GET', path, 'GETCONTENTSUMMARY');
    const { length, fileCount, directoryCount } = res.ContentSummary;
    return { length, fileCount, directoryCount };
  }

  /** The status of a path, or undefined when it does not exist. */
  async stat(path: string): Promise<FileStatus | undefined> {
    try {
      return await this.getFileStatus(path);
    } catch (err) {
      if (err instanceof GamepipeError && err.code === ErrorCodes.hdfsNotFound) return undefined;
      throw err;
    }
  }

  /**
   * Renames atomically. HDFS answers `false` instead of an error when the source is missing or the
   * destination exists or has no parent; that is turned into an error naming both paths.
   */
  async rename(from: string, to: string): Promise<void> {
    const res = await this.call<{ boolean: boolean }>('PUT', from, 'RENAME', { destination: to });
    if (!res.boolean) {
      throw new GamepipeError(ErrorCodes.hdfs, `HDFS refused to rename ${from} to ${to}`, {
        hint: 'the source must exist, and the destination must not exist and have a parent directory',
        context: { path: from, destination: to },
      });
    }
  }

  /** Deletes a path; false when there was nothing to delete. */
  async delete(
    path: string,
    { recursive = false }: { recursive?: boolean } = {},
  ): Promise<boolean> {
    const res = await this.call<{ boolean: boolean }>('DELETE', path, 'DELETE', {
      recursive: String(recursive),
    });
    return res.boolean;
  }

  /**
   * Deletes a directory if it is empty; false when it holds something or is gone. Safe beside
   * another run: HDFS creates a path's parents and deletes a directory atomically, so a run that
   * makes a child first keeps its directory.
   */
  async deleteIfEmpty(path: string): Promise<boolean> {
    try {
      return await this.delete(path);
    } catch (err) {
      if (
        err instanceof GamepipeError &&
        (err.context.exception === 'PathIsNotEmptyDirectoryException' ||
          /is non empty/.test(err.message))
      ) {
        return false;
      }
      throw err;
    }
  }

  private opUrl(path: string, op: string, params: Record<string, string | undefined>): string {
    if (!path.startsWith('/')) {
      throw new GamepipeError(ErrorCodes.usage, `HDFS path must be absolute: ${path}`, {
        hint: 'start it with /',
        context: { path },
      });
    }
    const encoded = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    const query = new URLSearchParams({ op, 'user.name': this.user });
    for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, v);
    return `${this.url}/webhdfs/v1${encoded}?${query.toString()}`;
  }

  private async call<T>(
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    op: string,
    params: Record<string, string | undefined> = {},
  ): Promise<T> {
    const url = this.opUrl(path, op, params);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      throw unreachable(this.url, 'NameNode', path, err);
    }
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) return (text ? JSON.parse(text) : {}) as T;
    throw remoteError(res.statusCode, text, path, op);
  }
}

/**
 * The DataNode answers every PUT with an unsolicited `100 Continue` before its final status, which
 * undici treats as a protocol error; node:http skips informational responses, so the bytes go
 * through it.
 */
function putToDataNode(
  location: string,
  body: Body,
  timeoutMs: number,
  path: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(location, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      timeout: timeoutMs,
    });
    // the socket took no bytes and gave none for timeoutMs: a DataNode that stalled (a long GC,
    // SIGSTOP, a full disk), not one that refused
    req.on('timeout', () => {
      const endpoint = new URL(location).origin;
      req.destroy(
        new GamepipeError(
          ErrorCodes.hdfsUnavailable,
          `HDFS DataNode at ${endpoint} stalled: no progress for ${Math.round(timeoutMs / 1000)}s while writing ${path}`,
          {
            hint: 'check the DataNode (`gamepipe status`, its log); the lake is as it was: rerun when it answers',
            context: { endpoint, path },
            retriable: true,
          },
        ),
      );
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    if (typeof body === 'string' || body instanceof Uint8Array) {
      req.end(body);
    } else {
      pipeline(body, req).catch(reject);
    }
  });
}

function unreachable(endpoint: string, role: string, path: string, err: unknown): GamepipeError {
  const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message;
  return new GamepipeError(
    ErrorCodes.hdfsUnavailable,
    `HDFS ${role} at ${endpoint} is unreachable (${reason}) while accessing ${path}`,
    { hint: STACK_HINT, cause: err, context: { endpoint, path }, retriable: true },
  );
}

function remoteError(status: number, text: string, path: string, op: string): GamepipeError {
  let remote: RemoteException = {};
  try {
    remote = (JSON.parse(text) as { RemoteException?: RemoteException }).RemoteException ?? {};
  } catch {
    remote = { message: text.slice(0, 200) };
  }
  const exception = remote.exception ?? `HTTP ${status}`;
  const message = (remote.message ?? '').split('\n')[0] ?? '';
  let code: ErrorCode = EXCEPTION_CODES[exception] ?? ErrorCodes.hdfs;
  if (code === ErrorCodes.hdfs && status === 404) code = ErrorCodes.hdfsNotFound;
  if (code === ErrorCodes.hdfs && /could only be written to 0 of the/.test(message)) {
    code = ErrorCodes.hdfsNoSpace;
  }
  // the NameNode has no DataNode fit to write to now (all stale or dead): HDFS is not up
  if (code === ErrorCodes.hdfs && /Failed to find datanode/.test(message)) {
    code = ErrorCodes.hdfsUnavailable;
  }
  return new GamepipeError(code, `HDFS ${op} ${path} failed: ${exception}: ${message}`, {
    hint: HINTS[code],
    context: { path, op, status, exception },
    retriable: (status >= 500 && code === ErrorCodes.hdfs) || code === ErrorCodes.hdfsUnavailable,
  });
}

/** Runs `fn` with a client for the configured NameNode, and always closes it. */
export async function withHdfs<T>(
  config: { webhdfsUrl: string; hdfsUser: string },
  fn: (hdfs: WebHdfs) => Promise<T>,
): Promise<T> {
  const hdfs = new WebHdfs({ url: config.webhdfsUrl, user: config.hdfsUser });
  try {
    return await fn(hdfs);
  } finally {
    await hdfs.close();
  }
}
