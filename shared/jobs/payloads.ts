/**
 * The job registry: the job kinds, typed once and validated with the same schemas by
 * producers (before anything reaches Redis) and by workers (before anything reaches S3).
 *
 * Payloads carry no secrets: a job names a connection `profile` that each worker resolves from its
 * own configuration. The schemas are strict, so a stray `secretKey` field is refused, not stored.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { assertSystemHeaderName, normalizeMetadata } from '../s3/metadata.js';
import { assertTagKey, assertTags, MAX_TAGS } from '../s3/tagging.js';
import { assertBucketName, assertCannedAcl, assertKey, assertStorageClass, CANNED_ACLS, STORAGE_CLASSES } from '../s3/validation.js';

/** Job kinds, also used as BullMQ job names. */
export const JOB_KINDS = ['copy', 'metadata-rewrite', 'metadata-rewrite-batch', 'bucket', 'sync', 'tagging', 'acl', 'copy-batch', 'tagging-batch', 'acl-batch'] as const;

/** The kinds that carry several objects of one run, each run (and dead-lettered) as its own single job. */
export const BATCH_KINDS: readonly JobKind[] = ['metadata-rewrite-batch', 'copy-batch', 'tagging-batch', 'acl-batch'];
export type JobKind = (typeof JOB_KINDS)[number];

/** Largest serialized payload a producer accepts (metadata ≤ 2 KB, so real jobs are far below). */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/**
 * Largest serialized batch payload: up to MAX_BATCH_OBJECTS keys. Producers split a page's objects
 * into batches that stay under it whatever the key lengths (a key may be 1,024 bytes).
 */
export const MAX_BATCH_PAYLOAD_BYTES = 256 * 1024;

/** Most objects one `metadata-rewrite-batch` job may carry. */
export const MAX_BATCH_OBJECTS = 1000;

/**
 * Runs one of the core's assertions as a zod refinement, keeping its message and the part of its
 * field path below the value (e.g. which metadata entry was bad).
 */
function check<T>(assert: (value: unknown, field: string) => void) {
  return (value: T, ctx: z.RefinementCtx): void => {
    try {
      assert(value, '$');
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const below = err.field.startsWith('$.') ? err.field.slice(2).split('.') : [];
      ctx.addIssue({ code: 'custom', message: err.message.replace(/^[^:]*: /, ''), path: below });
    }
  };
}

const profile = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a profile name of 1-64 letters, digits, "_" or "-" (defined in the worker configuration)');
const bucketName = z.string().superRefine(check<string>((v, f) => assertBucketName(v, f)));
const objectKey = z.string().superRefine(check<string>((v, f) => assertKey(v, f)));
const metadata = z.record(z.string(), z.string()).superRefine(check<Record<string, string>>((v, f) => void normalizeMetadata(v, f)));
/** System headers by name (checked here too, so a bad name is refused at enqueue time, not by the worker). */
const headers = z.record(z.string(), z.string()).superRefine(
  check<Record<string, string>>((v) => {
    for (const name of Object.keys(v as Record<string, string>)) assertSystemHeaderName(name.toLowerCase(), `$.${name}`);
  }),
);
const objectAcl = z.union([z.enum(CANNED_ACLS.object), z.literal('replicate-source')], {
  error: `must be a canned ACL (${CANNED_ACLS.object.join(', ')}) or "replicate-source"`,
});
const storageClass = z.enum(STORAGE_CLASSES, { error: (issue) => `${JSON.stringify(issue.input)} is not a storage class; allowed: ${STORAGE_CLASSES.join(', ')}` });
const etag = z.string().min(1).max(200);
/** Per-job deadline in ms; null disables it (the worker's default applies when absent). */
const timeoutMs = z.union([z.number().int().positive().max(7 * 24 * 3600 * 1000), z.null()]);

/** Where an object stood in its run's listing or manifest (page * 1000 + index). */
const runSlot = z.number().int().nonnegative();

/** A batch's objects: 1..MAX_BATCH_OBJECTS, each with its own slot. */
function batchObjects<T extends z.ZodType<{ slot: number }>>(object: T) {
  return z
    .array(object)
    .min(1, 'must list at least one object')
    .max(MAX_BATCH_OBJECTS, `must list at most ${MAX_BATCH_OBJECTS} objects`)
    .refine((objects) => new Set(objects.map((o) => o.slot)).size === objects.length, { message: 'two objects have the same slot; every object of a run has its own' });
}

/** Fields every job may carry. */
const common = {
  profile,
  timeoutMs: timeoutMs.optional(),
  /** Groups the job into a named run (bulk migrations) for progress and reports. */
  runId: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a run id of 1-100 letters, digits, "_", "." or "-"').optional(),
  /** Where the object stood in the run's listing (page * 1000 + index): its slot in the run's accounting. */
  runSlot: runSlot.optional(),
};

export const copyJobSchema = z.strictObject({
  kind: z.literal('copy'),
  ...common,
  /**
   * Connection profile the source is read with; default `profile` (which writes the destination).
   * Another store or other credentials than `profile`'s: the worker streams the copy through itself.
   */
  sourceProfile: profile.optional(),
  source: z.strictObject({ bucket: bucketName, key: objectKey, versionId: z.string().min(1).optional() }),
  destination: z.strictObject({ bucket: bucketName, key: objectKey }),
  acl: objectAcl,
  metadata: metadata.optional(),
  mimetype: z.string().min(1).max(256).optional(),
  headers: headers.optional(),
  /** Copy only if the source still has this ETag (a stale job fails with PreconditionFailed). */
  expectedSourceEtag: etag.optional(),
  storageClass: storageClass.optional(),
  /**
   * The source's ETag as a sync listed it (no condition: the copy goes ahead whatever it is now).
   * When it or the copy's ETag is multipart (the copy then has another ETag than its source), the
   * worker records the pair, and a later sync that finds the same pair knows the destination is
   * its own copy of that source.
   */
  listedSourceEtag: etag.optional(),
});

/** The changes a rewrite makes: a single `metadata-rewrite`'s, and every object's of a batch. */
const rewriteChanges = {
  set: metadata.optional(),
  remove: z.array(z.string().min(1)).max(100).optional(),
  replace: metadata.optional(),
  mimetype: z.string().min(1).max(256).optional(),
  headers: headers.optional(),
  acl: objectAcl,
  /**
   * Refuse to rewrite where the store is not known to honour the ETag guard (dead-lettered
   * S3JOBS_UNGUARDED, never retried) instead of rewriting unguarded. `--require-guard`.
   */
  requireGuard: z.boolean().optional(),
};

/**
 * The rules between those changes, for both kinds (an object of a batch is dead-lettered as a
 * single rewrite, so it must validate as one): `replace` stands alone, and no name is both set
 * and removed.
 */
function withRewriteRules<T extends z.ZodType<{ set?: Record<string, string> | undefined; remove?: string[] | undefined; replace?: Record<string, string> | undefined }>>(schema: T): T {
  return schema
    .refine((j) => !(j.replace !== undefined && (j.set !== undefined || j.remove !== undefined)), {
      message: 'replace is the whole new metadata: it cannot be combined with set or remove',
      path: ['replace'],
    })
    .refine((j) => !(j.set !== undefined && j.remove !== undefined && j.remove.some((name) => Object.keys(j.set!).some((k) => k.toLowerCase() === name.toLowerCase()))), {
      message: 'a metadata name is both set and removed; give it in one of them',
      path: ['remove'],
    });
}

export const metadataRewriteJobSchema = withRewriteRules(
  z.strictObject({
    kind: z.literal('metadata-rewrite'),
    ...common,
    bucket: bucketName,
    key: objectKey,
    ...rewriteChanges,
    /** Rewrite only if the object still has this ETag. */
    expectedEtag: etag.optional(),
  }),
);

/**
 * `metadata-rewrite-batch`: the same rewrite applied to several objects of one run's listing page,
 * as one BullMQ job — a waiting job costs Redis ~1 KB whatever it carries, so a 10-million-object
 * run fits one Redis only if objects share jobs. Each object keeps what a job of its own would
 * have: its outcome is recorded in the run once (its slot), it is retried alone (an attempt skips
 * objects already finished), and a failure is dead-lettered as that object's own
 * `metadata-rewrite` job (id `<runId>-<slot>`), retryable with `s3jobs dlq retry`.
 */
export const metadataRewriteBatchJobSchema = withRewriteRules(
  z.strictObject({
    kind: z.literal('metadata-rewrite-batch'),
    profile,
    timeoutMs: timeoutMs.optional(),
    /** Batches exist for runs: outcomes are recorded per object in the run store. */
    runId: common.runId.unwrap(),
    bucket: bucketName,
    objects: batchObjects(z.strictObject({ key: objectKey, slot: runSlot })),
    ...rewriteChanges,
    /** Content-Type from each key's extension (objects whose extension is unknown keep theirs); wins over mimetype. */
    mimetypeFromExtension: z.boolean().optional(),
  }),
);

export const bucketJobSchema = z.discriminatedUnion('action', [
  z
    .strictObject({
      kind: z.literal('bucket'),
      ...common,
      action: z.literal('create'),
      bucket: bucketName,
      location: z.string().regex(/^[A-Za-z0-9-]{2,64}$/, 'must be a region such as "eu-west-1" or "EU"').optional(),
      configXml: z.string().max(8192).optional(),
      acl: z.enum(CANNED_ACLS.bucket).optional(),
    })
    .refine((j) => !(j.location !== undefined && j.configXml !== undefined), { message: 'give location or configXml, not both', path: ['location'] }),
  z.strictObject({
    kind: z.literal('bucket'),
    ...common,
    action: z.literal('delete'),
    bucket: bucketName,
    /** Delete every object, version and delete marker first. */
    empty: z.boolean().optional(),
  }),
]);

/** A key prefix: "" (everything) or up to a key's length, with a key's character rules. */
const keyPrefix = z.string().superRefine(
  check<string>((v, f) => {
    if (v !== '') assertKey(v, f);
  }),
);

/**
 * Same bucket (under the same profile) and one prefix inside the other: the sync would copy into
 * its own source. Under two profiles the same bucket name is most often another store's bucket.
 */
function overlaps(j: { profile: string; sourceProfile?: string | undefined; source: { bucket: string; prefix: string }; destination: { bucket: string; prefix: string } }): boolean {
  if (j.sourceProfile !== undefined && j.sourceProfile !== j.profile) return false;
  return j.source.bucket === j.destination.bucket && (j.source.prefix.startsWith(j.destination.prefix) || j.destination.prefix.startsWith(j.source.prefix));
}

/**
 * `sync`: copy every object under `source.prefix` that is missing or different (size, ETag) under
 * `destination.prefix`, as one copy job per object (the worker fans them out). The key below the
 * prefix is kept: `<source.prefix>a/b.jpg` → `<destination.prefix>a/b.jpg`.
 */
export const syncJobSchema = z
  .strictObject({
    kind: z.literal('sync'),
    profile,
    /** Profile the source is listed and read with (default `profile`); another store: the copies are streamed. */
    sourceProfile: profile.optional(),
    timeoutMs: timeoutMs.optional(),
    source: z.strictObject({ bucket: bucketName, prefix: keyPrefix }),
    destination: z.strictObject({ bucket: bucketName, prefix: keyPrefix }),
    /** ACL of every copy. */
    acl: objectAcl,
    /** User metadata of every copy (replaces the source's); default: the source's is kept. */
    metadata: metadata.optional(),
    /** Content-Type of every copy; default: the source's. */
    mimetype: z.string().min(1).max(256).optional(),
    /** Report the fan-out as a run (`sync-<job id>`): progress and report through the run commands. */
    asRun: z.boolean().optional(),
    /** Delete destination objects (under the prefix) the source no longer has. Default false. */
    delete: z.boolean().optional(),
    /** List what would be copied and deleted (the result's samples); copy and delete nothing. */
    dryRun: z.boolean().optional(),
  })
  .refine((j) => !overlaps(j), {
    message: 'source and destination overlap (same bucket, one prefix inside the other): the sync would copy into its own source',
    path: ['destination', 'prefix'],
  });

/** A version of an object (S3's version ids are opaque strings; "null" names the pre-versioning one). */
const versionId = z.string().min(1).max(1024);
const tagSet = z.record(z.string(), z.string()).superRefine(check<Record<string, string>>((v, f) => assertTags(v, f)));

/**
 * `tagging`: set an object's tags (PUT ?tagging), no copy. `replace` (default) makes `tags` the
 * whole set (empty: no tags); `merge` reads the current tags, sets `tags` over them and takes
 * `remove` out (the object may end with at most 10). `versionId` targets that version.
 */
/** The tag changes: a single `tagging` job's, and every object's of a `tagging-batch`. */
const taggingChanges = {
  mode: z.enum(['replace', 'merge']).optional(),
  tags: tagSet,
  remove: z
    .array(z.string().superRefine(check<string>((v, f) => assertTagKey(String(v), f))))
    .max(MAX_TAGS * 5)
    .optional(),
};

/** The rules between those changes, for both kinds (an object of a batch is dead-lettered as a single job). */
function withTaggingRules<T extends z.ZodType<{ mode?: 'replace' | 'merge' | undefined; tags: Record<string, string>; remove?: string[] | undefined }>>(schema: T): T {
  return schema
    .refine((j) => !(j.remove !== undefined && j.mode !== 'merge'), { message: 'remove applies to mode "merge" only (a replace sets the whole tag set)', path: ['remove'] })
    .refine((j) => !(j.remove ?? []).some((k) => Object.hasOwn(j.tags, k)), { message: 'a tag key is both set and removed; give it in one of them', path: ['remove'] });
}

export const taggingJobSchema = withTaggingRules(
  z.strictObject({
    kind: z.literal('tagging'),
    ...common,
    bucket: bucketName,
    key: objectKey,
    versionId: versionId.optional(),
    ...taggingChanges,
  }),
);

/** `acl`: put a canned ACL on an object (PUT ?acl), without copying it. `versionId` targets that version. */
export const aclJobSchema = z.strictObject({
  kind: z.literal('acl'),
  ...common,
  bucket: bucketName,
  key: objectKey,
  versionId: versionId.optional(),
  acl: z.enum(CANNED_ACLS.object, { error: `must be a canned ACL: ${CANNED_ACLS.object.join(', ')}` }),
});

/** A batch's objects that may name a version (a manifest row's). */
const versionedObjects = batchObjects(z.strictObject({ key: objectKey, slot: runSlot, versionId: versionId.optional() }));

/**
 * `copy-batch`: a copy run's server-side copies of several objects of one page, as one BullMQ job
 * (see metadata-rewrite-batch for why). Each object is copied as the `copy` job it stands for
 * (`copyBatchObjectJob`): its key below `source.prefix` goes below `destination.prefix` (a key
 * outside the prefix goes below it whole), a version id copies that version, and a failure is
 * dead-lettered as that `copy` job (`<runId>-<slot>`).
 */
export const copyBatchJobSchema = z.strictObject({
  kind: z.literal('copy-batch'),
  profile,
  timeoutMs: timeoutMs.optional(),
  runId: common.runId.unwrap(),
  source: z.strictObject({ bucket: bucketName, prefix: z.string().max(1024).optional() }),
  destination: z.strictObject({ bucket: bucketName, prefix: z.string().max(1024) }),
  acl: objectAcl,
  storageClass: storageClass.optional(),
  metadata: metadata.optional(),
  mimetype: z.string().min(1).max(256).optional(),
  headers: headers.optional(),
  objects: versionedObjects,
});

/** `tagging-batch`: a tagging run's tag changes for several objects of one page (see copy-batch). */
export const taggingBatchJobSchema = withTaggingRules(
  z.strictObject({
    kind: z.literal('tagging-batch'),
    profile,
    timeoutMs: timeoutMs.optional(),
    runId: common.runId.unwrap(),
    bucket: bucketName,
    objects: versionedObjects,
    ...taggingChanges,
  }),
);

/** `acl-batch`: an ACL run's canned ACL for several objects of one page (see copy-batch). */
export const aclBatchJobSchema = z.strictObject({
  kind: z.literal('acl-batch'),
  profile,
  timeoutMs: timeoutMs.optional(),
  runId: common.runId.unwrap(),
  bucket: bucketName,
  objects: versionedObjects,
  acl: z.enum(CANNED_ACLS.object, { error: `must be a canned ACL: ${CANNED_ACLS.object.join(', ')}` }),
});

export type CopyJob = z.infer<typeof copyJobSchema>;
export type TaggingBatchJob = z.infer<typeof taggingBatchJobSchema>;
export type AclBatchJob = z.infer<typeof aclBatchJobSchema>;
export type CopyBatchJob = z.infer<typeof copyBatchJobSchema>;
export type TaggingJob = z.infer<typeof taggingJobSchema>;
export type AclJob = z.infer<typeof aclJobSchema>;
export type MetadataRewriteJob = z.infer<typeof metadataRewriteJobSchema>;
export type BucketJob = z.infer<typeof bucketJobSchema>;
export type SyncJob = z.infer<typeof syncJobSchema>;
export type MetadataRewriteBatchJob = z.infer<typeof metadataRewriteBatchJobSchema>;
export type JobPayload = CopyJob | MetadataRewriteJob | MetadataRewriteBatchJob | CopyBatchJob | TaggingBatchJob | AclBatchJob | BucketJob | SyncJob | TaggingJob | AclJob;
/** The batch kinds' payloads: several objects of one run, each standing for a single job. */
export type BatchJob = MetadataRewriteBatchJob | CopyBatchJob | TaggingBatchJob | AclBatchJob;

export function isBatchJob(payload: JobPayload): payload is BatchJob {
  return (BATCH_KINDS as readonly string[]).includes(payload.kind);
}
export type JobPayloadOf<K extends JobKind> = Extract<JobPayload, { kind: K }>;

export const SCHEMAS = {
  copy: copyJobSchema,
  'metadata-rewrite': metadataRewriteJobSchema,
  'metadata-rewrite-batch': metadataRewriteBatchJobSchema,
  'copy-batch': copyBatchJobSchema,
  'tagging-batch': taggingBatchJobSchema,
  'acl-batch': aclBatchJobSchema,
  bucket: bucketJobSchema,
  sync: syncJobSchema,
  tagging: taggingJobSchema,
  acl: aclJobSchema,
} as const;

// Re-exported so callers of the registry can reuse the same checks on single fields.
export { assertCannedAcl, assertStorageClass };
