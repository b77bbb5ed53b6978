/** The lake's Parquet schema: each output's columns, and their types in the file's terms. */
import type { writeMetadata } from 'hyparquet-writer/src/metadata.js';

// the format's types as hyparquet-writer (and the hyparquet it depends on) declares them
export type FileMetaData = Parameters<typeof writeMetadata>[1];
export type SchemaElement = FileMetaData['schema'][number];
export type RowGroupMeta = FileMetaData['row_groups'][number];
export type ColumnChunk = RowGroupMeta['columns'][number];
export type ColumnMetaData = NonNullable<ColumnChunk['meta_data']>;
export type Encoding = ColumnMetaData['encodings'][number];
export type ParquetType = ColumnMetaData['type'];
export type Statistics = NonNullable<ColumnMetaData['statistics']>;

export type ColumnKind = 'string' | 'int32' | 'int64' | 'double' | 'timestamp' | 'binary';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  required?: boolean;
  /**
   * Values mostly distinct (ids, free text): written PLAIN, with no dictionary tried and no
   * min/max. Every other string column is dictionary-encoded in each row group where that pays.
   */
  plain?: boolean;
}

/** The columns of each output, in file order. */
export const COMMON_HEAD: ColumnSpec[] = [
  { name: 'event_id', kind: 'string', required: true, plain: true },
  { name: 'event_type', kind: 'string', required: true },
  { name: 'timestamp', kind: 'timestamp', required: true },
  { name: 'Host', kind: 'string' },
  { name: 'User-Agent', kind: 'string' },
  { name: 'Accept', kind: 'string' },
];
export const COMMON_TAIL: ColumnSpec[] = [
  { name: 'schema_version', kind: 'int32', required: true },
  { name: 'kafka_partition', kind: 'int32', required: true },
  { name: 'kafka_offset', kind: 'int64', required: true },
  { name: 'kafka_timestamp', kind: 'timestamp', required: true },
];

export const PURCHASE_COLUMNS: ColumnSpec[] = [
  ...COMMON_HEAD,
  { name: 'item', kind: 'string', required: true },
  { name: 'price', kind: 'double' },
  { name: 'currency', kind: 'string' },
  { name: 'quantity', kind: 'int32' },
  { name: 'user_id', kind: 'string' },
  ...COMMON_TAIL,
];

export const GUILD_COLUMNS: ColumnSpec[] = [
  ...COMMON_HEAD,
  { name: 'guild_id', kind: 'string' },
  { name: 'guild_name', kind: 'string' },
  { name: 'user_id', kind: 'string' },
  ...COMMON_TAIL,
];

export const REJECTED_COLUMNS: ColumnSpec[] = [
  { name: 'kafka_partition', kind: 'int32', required: true },
  { name: 'kafka_offset', kind: 'int64', required: true },
  { name: 'kafka_timestamp', kind: 'timestamp', required: true },
  { name: 'key', kind: 'string', plain: true },
  { name: 'reason', kind: 'string', required: true },
  { name: 'raw', kind: 'string', required: true, plain: true },
  { name: 'raw_bytes', kind: 'binary', required: true, plain: true },
];

function schemaElement({ name, kind, required }: ColumnSpec): SchemaElement {
  const repetition_type = required ? 'REQUIRED' : 'OPTIONAL';
  switch (kind) {
    case 'string':
      return {
        name,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
        repetition_type,
      };
    case 'binary':
      return { name, type: 'BYTE_ARRAY', repetition_type };
    case 'int32':
      return { name, type: 'INT32', repetition_type };
    case 'int64':
      return { name, type: 'INT64', repetition_type };
    case 'double':
      return { name, type: 'DOUBLE', repetition_type };
    case 'timestamp':
      // UTC instants: Spark TimestampType, pyarrow timestamp[ms, tz=UTC], DuckDB TIMESTAMPTZ
      return {
        name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type,
      };
  }
}

export function parquetSchema(columns: ColumnSpec[]): SchemaElement[] {
  return [{ name: 'schema', num_children: columns.length }, ...columns.map(schemaElement)];
}

export const PHYSICAL: Record<ColumnKind, ParquetType> = {
  string: 'BYTE_ARRAY',
  binary: 'BYTE_ARRAY',
  int32: 'INT32',
  int64: 'INT64',
  timestamp: 'INT64',
  double: 'DOUBLE',
};
