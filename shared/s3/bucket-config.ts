import { ValidationError } from '../errors.js';
import type { Credentials } from './signer/index.js';
import type { StoreProfile } from './store-profile.js';
import { assertBucketName } from './validation.js';

/** What `new S3Bucket(...)` accepts. */
export interface S3BucketOptions {
  /** The bucket name (validated against S3's naming rules). */
  name: string;
  /** Public component of the access key. */
  accessKey: string;
  /** Private component of the access key. Never logged, never put in an error message. */
  secretKey: string;
  /** Session token for temporary credentials (STS). */
  sessionToken?: string | undefined;
  /**
   * URL override for the bucket itself, e.g. `https://files.example.com` for own-domain hosting
   * (a CNAME onto the bucket). No trailing slash. Objects live at `<baseUrl>/<key>`.
   */
  baseUrl?: string | undefined;
  /**
   * Service endpoint of an S3-compatible store, e.g. `http://127.0.0.1:9000`. Without it (and without
   * `baseUrl`) the bucket talks to AWS at `https://s3.<region>.amazonaws.com`.
   */
  endpoint?: string | undefined;
  /** Signing region. Default `us-east-1`. */
  region?: string | undefined;
  /**
   * Force path-style (`https://host/bucket/key`) or virtual-host style (`https://bucket.host/key`).
   * Default: virtual-host style on AWS for names without dots, path style everywhere else
   * (S3-compatible stores, and dotted names which break TLS on virtual hosts).
   */
  forcePathStyle?: boolean | undefined;
  /**
   * Timeout of each request in **milliseconds** (Node's unit, not the seed's seconds), covering
   * the whole request: connect, headers and body. `null` or absent disables it. Changeable later
   * through `bucket.timeout`.
   */
  timeout?: number | null | undefined;
  /**
   * What the store does where stores differ (which copy-condition headers it honours, what
   * CreateBucket answers for a bucket it already has, …): a preset such as
   * `PROVIDER_PROFILES.ceph`, or doctor findings. Default `DOCUMENTED_S3`, which assumes nothing.
   */
  store?: StoreProfile | undefined;
  /**
   * Refuse guarded writes (metadata rewrites, copies with `ifMatch`) unless the store is known to
   * honour copy conditions (S3JOBS_UNGUARDED). A call can ask for it too. Default false.
   */
  requireGuard?: boolean | undefined;
}

/** Where requests for one bucket go. */
export interface Endpoint {
  /** `protocol://host[:port]` requests are sent to. */
  origin: string;
  /** The Host header value (no default port), as signed. */
  host: string;
  /** Raw (decoded) path before the key: '' (virtual host / own domain) or `/bucket`; never ends with '/'. */
  basePath: string;
}

/** The validated, normalised form every request is built from. */
export interface BucketConfig {
  name: string;
  credentials: Credentials;
  region: string;
  endpoint: Endpoint;
  /** Where another bucket of the same service lives (a copy source, say). */
  endpointFor(bucket: string): Endpoint;
}

const REGION = /^[a-z0-9-]{1,64}$/;

function parseHttpUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || value === '') throw new ValidationError(field, 'must be a non-empty http(s) URL such as "https://files.example.com"');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(field, `"${value}" is not a valid URL; expected e.g. "https://files.example.com"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(field, `protocol "${url.protocol}" is not supported; use http: or https:`);
  if (url.username !== '' || url.password !== '') throw new ValidationError(field, 'must not carry credentials in the URL; use accessKey/secretKey');
  if (url.search !== '' || url.hash !== '') throw new ValidationError(field, 'must not have a query string or fragment');
  return url;
}

function nonEmpty(value: unknown, field: string, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(field, `is missing; ${what}`);
  return value;
}

export function validateTimeout(value: unknown, field = 'timeout'): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new ValidationError(field, `must be a positive number of milliseconds, or null to disable (got ${String(value)})`);
  return value;
}

/** Validates every option once, at construction, into the form requests are built from. */
export function resolveBucketConfig(options: S3BucketOptions): BucketConfig {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object with at least name, accessKey and secretKey');
  assertBucketName(options.name, 'name');
  const accessKeyId = nonEmpty(options.accessKey, 'accessKey', 'the public component of the access key is required');
  const secretAccessKey = nonEmpty(options.secretKey, 'secretKey', 'the secret component of the access key is required');
  const region = options.region ?? 'us-east-1';
  if (typeof region !== 'string' || !REGION.test(region)) throw new ValidationError('region', `"${String(region)}" is not a region name such as "eu-west-1"`);
  if (options.sessionToken !== undefined && (typeof options.sessionToken !== 'string' || options.sessionToken === ''))
    throw new ValidationError('sessionToken', 'must be a non-empty string when given');
  if (options.baseUrl !== undefined && options.endpoint !== undefined)
    throw new ValidationError('baseUrl', 'give either baseUrl (the bucket\'s own URL) or endpoint (the service\'s URL), not both');
  validateTimeout(options.timeout);
  const credentials: Credentials = { accessKeyId, secretAccessKey, sessionToken: options.sessionToken };

  let service: (bucket: string) => Endpoint;
  if (options.endpoint !== undefined) {
    const url = parseHttpUrl(options.endpoint, 'endpoint');
    if (url.pathname !== '/' && url.pathname !== '') throw new ValidationError('endpoint', 'must be the service root without a path (use baseUrl for a bucket behind a path)');
    if (options.forcePathStyle === false) {
      if (options.name.includes('.') && url.protocol === 'https:')
        throw new ValidationError('forcePathStyle', 'virtual-host style does not work over TLS for bucket names with dots');
      service = (bucket) => ({ origin: `${url.protocol}//${bucket}.${url.host}`, host: `${bucket}.${url.host}`, basePath: '' });
    } else {
      service = (bucket) => ({ origin: url.origin, host: url.host, basePath: `/${bucket}` });
    }
  } else {
    // AWS: virtual-host style unless forced or impossible (dotted names break TLS on virtual hosts).
    const awsHost = region === 'us-east-1' ? 's3.amazonaws.com' : `s3.${region}.amazonaws.com`;
    service = (bucket) =>
      options.forcePathStyle !== true && !bucket.includes('.')
        ? { origin: `https://${bucket}.${awsHost}`, host: `${bucket}.${awsHost}`, basePath: '' }
        : { origin: `https://${awsHost}`, host: awsHost, basePath: `/${bucket}` };
  }

  let endpoint = service(options.name);
  if (options.baseUrl !== undefined) {
    if (typeof options.baseUrl === 'string' && options.baseUrl.endsWith('/')) throw new ValidationError('baseUrl', `"${options.baseUrl}" ends with "/"; omit the trailing slash`);
    const url = parseHttpUrl(options.baseUrl, 'baseUrl');
    endpoint = { origin: url.origin, host: url.host, basePath: decodeURIComponent(url.pathname.replace(/\/$/, '')) };
  }
  const own = endpoint;
  return { name: options.name, credentials, region, endpoint, endpointFor: (bucket) => (bucket === options.name ? own : service(bucket)) };
}

/** The raw (decoded) request path for a key, or for the bucket itself when `key` is undefined. */
export function pathFor(endpoint: Endpoint, key?: string): string {
  if (key === undefined) return endpoint.basePath === '' ? '/' : endpoint.basePath;
  return `${endpoint.basePath}/${key}`;
}
