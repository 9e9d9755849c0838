export * from './payloads.js';
export * from './results.js';
export * from './validate.js';
export * from './batch.js';
export * from './run-refs.js';
