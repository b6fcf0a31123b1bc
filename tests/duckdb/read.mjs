// Reads a Parquet file with DuckDB, as a data scientist would (`SELECT * FROM 'file.parquet'`), and prints what DuckDB
// sees as one JSON object: column names and types, every row (values as JSON), and the file's key-value metadata.
// Usage: node read.mjs FILE.parquet
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) {
  console.error('usage: node read.mjs FILE.parquet');
  process.exit(2);
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const quoted = `'${file.replaceAll("'", "''")}'`;
const result = await con.runAndReadAll(`SELECT * FROM read_parquet(${quoted})`);
const metadata = await con.runAndReadAll(
  `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${quoted}) ORDER BY key`);
console.log(JSON.stringify({
  columns: result.columnNames(),
  types: result.columnTypes().map((t) => t.toString()),
  rows: result.getRowsJson(),
  metadata: Object.fromEntries(metadata.getRowObjectsJson().map((r) => [r.key, r.value])),
}));
