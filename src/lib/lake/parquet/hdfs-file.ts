import { PassThrough } from 'node:stream';
import { ErrorCodes, GamepipeError } from '../../core/errors.js';
import type { WebHdfs } from '../../hdfs/webhdfs.js';
import { ParquetFileEncoder, type RowGroup } from './encoder.js';
import type { ColumnSpec } from './schema.js';

/**
 * A Parquet file streamed to HDFS as it is written: each row group is encoded and sent to the
 * DataNode (one chunked WebHDFS CREATE), so memory holds one row group, not the file.
 */
export class HdfsParquetFile {
  readonly path: string;
  private readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly upload: Promise<void>;
  private readonly encoder: ParquetFileEncoder;
  private failure: unknown;
  private aborted = false;

  constructor(hdfs: WebHdfs, path: string, columns: ColumnSpec[]) {
    this.path = path;
    this.encoder = new ParquetFileEncoder(columns);
    this.upload = hdfs.create(path, this.stream, { overwrite: true });
    this.upload.catch((err: unknown) => {
      this.failure = err;
      this.stream.destroy();
    });
    for (const part of this.encoder.head()) this.stream.write(part);
  }

  get rows(): number {
    return this.encoder.rows;
  }

  /** Encodes the rows as one row group and streams it out; waits while the upload is behind. */
  async writeRowGroup(group: RowGroup): Promise<void> {
    if (group.rows === 0) return;
    const parts = this.encoder.rowGroup(group);
    if (this.failure) throw this.failure;
    let room = true;
    for (const part of parts) room = this.stream.write(part);
    if (!room) {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('drain', resolve);
        // the stream closes before the upload's own failure arrives: that failure is the answer
        this.stream.once('close', () => {
          this.upload.then(() => reject(this.stopped()), reject);
        });
      });
    }
  }

  /** Writes the footer and waits until HDFS has the whole file; resolves with its size. */
  async close(): Promise<number> {
    const parts = this.encoder.footer();
    for (const part of parts.slice(0, -1)) this.stream.write(part);
    this.stream.end(parts.at(-1));
    await this.upload;
    return this.encoder.size;
  }

  /** Stops the upload; the partial file stays in staging and is cleaned up by the next run. */
  abort(): void {
    this.aborted = true;
    this.stream.destroy();
  }

  private stopped(): GamepipeError {
    return new GamepipeError(
      ErrorCodes.hdfsUnavailable,
      `the upload of ${this.path} stopped before it was complete${this.aborted ? ' (the run was stopping)' : ''}`,
      { hint: 'rerun: the lake is as it was', context: { path: this.path }, retriable: true },
    );
  }
}
