/**
 * Values the vitest globalSetup (`global-setup.ts`, main process) hands to test workers through
 * vitest's `provide` / `inject`. Declared once here so both sides agree on names and types.
 */

/** Connection details of the shared s3rver child, or null when `S3_TEST_ENDPOINT` is used instead. */
export interface ProvidedS3rver {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3rver: ProvidedS3rver | null;
  }
}
