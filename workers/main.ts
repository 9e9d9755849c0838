/**
 * Stand-alone entry of the worker: `node --import tsx workers/main.ts [options]` (or
 * `node dist/workers/main.js` once built). Same as `s3jobs worker [options]`.
 */
import { runWorkerCommand } from './cli.js';

const code = await runWorkerCommand(process.argv.slice(2));
process.exit(code);
