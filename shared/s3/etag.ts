/**
 * The one form of an ETag s3jobs returns and records: quoted, as HEAD and listings give it
 * (`"9b2cf535f27731c974343645a3985328"`, `"<hex>-<parts>"`). Stores differ: Ceph RGW answers a
 * CopyObject with the ETag unquoted while its HEAD quotes it, so every ETag that leaves the client
 * goes through `quoteEtag`, and every ETag a caller hands in (ifMatch, expectedEtag) may come in
 * either form. Pure.
 */

/** `abc`, `"abc"`, `W/"abc"` → `"abc"`; an empty ETag stays empty (nothing to quote). */
export function quoteEtag(etag: string): string {
  const bare = bareEtag(etag);
  return bare === '' ? '' : `"${bare}"`;
}

/** The ETag without its quotes (and without a weak `W/` marker). */
export function bareEtag(etag: string): string {
  let value = etag.trim();
  if (value.startsWith('W/')) value = value.slice(2);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return value;
}

/** Whether two ETags name the same content, whatever their form (S3's hex is compared case-blind). */
export function sameEtag(a: string, b: string): boolean {
  return bareEtag(a).toLowerCase() === bareEtag(b).toLowerCase();
}
