export * from './config.js';
export * from './env-vars.js';
