export * from './canonical.js';
export * from './sigv4.js';
export { signingKey } from './signing-key.js';
