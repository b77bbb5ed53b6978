/**
 * The compression codecs of record batches, decoded on read, whichever producer wrote them:
 * gzip (node's zlib), snappy (hysnappy's wasm decoder, already the lake's; the Java client frames
 * snappy the xerial way, librdkafka may not), lz4 (lz4-napi, the LZ4 frame format Kafka uses) and
 * zstd (fzstd, pure JavaScript: Node 20's zlib has no zstd). lz4-napi and fzstd load on the first
 * batch that needs them.
 */
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { snappyUncompressor } from 'hysnappy';
import { ErrorCodes, GamepipeError } from '../../core/errors.js';

/** The codec in the low three bits of a batch's attributes. */
export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

const load = createRequire(import.meta.url);

let snappyUncompress: ((input: Uint8Array, length: number) => Uint8Array) | undefined;
let lz4Frame: ((input: Buffer) => Buffer) | undefined;
let zstd: ((input: Uint8Array) => Uint8Array) | undefined;

/** The records of a compressed batch, decompressed; `baseOffset` names the batch in errors. */
export function decompressRecords(codec: number, input: Buffer, baseOffset: number): Buffer {
  const name = CODEC_NAMES[codec] ?? `codec ${codec}`;
  try {
    switch (codec) {
      case 1:
        return gunzipSync(input);
      case 2:
        return snappy(input);
      case 3:
        lz4Frame ??= (load('lz4-napi') as { decompressFrameSync: (b: Buffer) => Buffer })
          .decompressFrameSync;
        return lz4Frame(input);
      case 4: {
        zstd ??= (load('fzstd') as { decompress: (b: Uint8Array) => Uint8Array }).decompress;
        const out = zstd(input);
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      }
    }
  } catch (err) {
    throw new GamepipeError(
      ErrorCodes.kafkaCorrupt,
      `record batch at offset ${baseOffset} is compressed with ${name} and does not decompress: ${(err as Error).message}`,
      {
        hint: 'the batch is corrupt in the log: read the partition with kcat to see it, or delete the records up to the next offset with kafka-delete-records',
        cause: err,
        context: { offset: baseOffset },
      },
    );
  }
  throw new GamepipeError(
    ErrorCodes.kafkaCorrupt,
    `record batch at offset ${baseOffset} has an unknown compression codec (${codec})`,
    {
      hint: 'Kafka knows none (0), gzip (1), snappy (2), lz4 (3) and zstd (4): the batch is corrupt or from a newer Kafka',
    },
  );
}

/** The xerial framing's magic: "\x82SNAPPY\0", then a version and a compatible version. */
const XERIAL = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** Snappy: xerial-framed blocks (each a 4-byte length, then a raw block), or one raw block. */
function snappy(input: Buffer): Buffer {
  if (input.length < 16 || !input.subarray(0, 8).equals(XERIAL)) return snappyBlock(input);
  const blocks: Buffer[] = [];
  for (let p = 16; p < input.length;) {
    const n = input.readUInt32BE(p);
    if (p + 4 + n > input.length) throw new Error('a snappy block runs past the batch');
    blocks.push(snappyBlock(input.subarray(p + 4, p + 4 + n)));
    p += 4 + n;
  }
  return blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks);
}

/** One raw snappy block: its uncompressed length as a varint, then the compressed data. */
function snappyBlock(block: Buffer): Buffer {
  let length = 0;
  let shift = 0;
  for (let i = 0; ; i++) {
    if (i >= block.length || i > 4) throw new Error('a snappy block without its length');
    const b = block[i] as number;
    length += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  snappyUncompress ??= snappyUncompressor();
  const out = snappyUncompress(block, length);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
