export * from './names.js';
export * from './dead-letter.js';
export * from './connection.js';
export * from './redis-url.js';
export * from './job-options.js';
