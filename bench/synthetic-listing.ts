/**
 * A synthetic listing source for `runMigration`: `count` keys (`obj/00000000.jpg` …) served as
 * ListObjectsV2-shaped pages straight from memory, so a benchmark measures the producer and the
 * queue, not a listing server. The continuation token is the next index, so a resumed listing
 * continues where it stopped, as with S3.
 */
import type { ListingSource } from '../producers/migrate/migration.js';
import type { ListedObject, ListOptions, ListPage } from '../shared/s3/index.js';

export function syntheticKey(i: number): string {
  return `obj/${String(i).padStart(8, '0')}.jpg`;
}

export function syntheticListing(count: number): ListingSource {
  return {
    async *listPages(options: ListOptions): AsyncGenerator<ListPage> {
      const pageSize = options.pageSize ?? 1000;
      for (let start = Number(options.continuationToken ?? 0); start < count; start += pageSize) {
        const end = Math.min(count, start + pageSize);
        const objects: ListedObject[] = [];
        for (let i = start; i < end; i++) objects.push({ key: syntheticKey(i), size: 1024, etag: '"9b2cf535f27731c974343645a3985328"', lastModified: undefined, storageClass: 'STANDARD' });
        yield { objects, commonPrefixes: [], nextContinuationToken: end < count ? String(end) : undefined };
      }
    },
  };
}
