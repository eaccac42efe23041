/**
 * The vulnerability database, one module per concern: the tables and their migrations
 * (store/schema.ts), the writer an update fills (store/writer.ts), the read side the matchers
 * query (store/reader.ts), and the one-writer lock (store/lock.ts). Callers import from here.
 */
export { SCHEMA_VERSION, type AffectedRow, type KevEntry, type SourceStatus } from './store/schema.js';
export { StoreWriter } from './store/writer.js';
export { VulnStore, type AdvisoryView } from './store/reader.js';
export { lock, lockWait, removeStale } from './store/lock.js';
export { splitEcosystem } from '../ecosystems/index.js';
