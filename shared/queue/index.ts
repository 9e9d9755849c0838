export * from './names.js';
export * from './dead-letter.js';
export * from './connection.js';
export * from './job-options.js';
