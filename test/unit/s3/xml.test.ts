import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, S3Error, S3JobsError, S3NotFoundError } from '../../../shared/errors.js';
import {
  type AccessControlPolicy,
  buildAccessControlPolicy,
  buildCompleteMultipartUpload,
  buildCreateBucketConfiguration,
  buildDeleteRequest,
  decodeUrlEncodedKey,
  errorFromDocument,
  parseAccessControlPolicy,
  parseCompleteMultipartUpload,
  parseCopyResult,
  parseDeleteResult,
  parseErrorDocument,
  parseInitiateMultipartUpload,
  parseListObjectsV2,
  parseListObjectVersions,
  parseS3Xml,
  xmlText,
} from '../../../shared/s3/xml.js';
import { expectInvalid } from '../support/expect-invalid.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function expectBadResponse(fn: () => unknown, message: RegExp): void {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(S3JobsError);
  expect(error).not.toBeInstanceOf(S3Error);
  expect((error as S3JobsError).code).toBe(ErrorCodes.BadResponse);
  expect((error as S3JobsError).code).toBe('S3JOBS_BAD_RESPONSE');
  expect((error as S3JobsError).retryable).toBe(true);
  expect((error as S3JobsError).message).toMatch(message);
}

describe('parseErrorDocument', () => {
  it('reads a full error document', () => {
    const body = `${DECL}<Error>\n  <Code>NoSuchKey</Code>\n  <Message>The specified key does not exist.</Message>\n  <Key>a &amp; b.txt</Key>\n  <BucketName>bucket</BucketName>\n  <Resource>/bucket/a &amp; b.txt</Resource>\n  <RequestId>4442587FB7D0A2F9</RequestId>\n  <HostId>host/id+==</HostId>\n</Error>\n`;
    expect(parseErrorDocument(body)).toEqual({
      code: 'NoSuchKey',
      message: 'The specified key does not exist.',
      requestId: '4442587FB7D0A2F9',
      hostId: 'host/id+==',
      resource: '/bucket/a & b.txt',
      extra: { Key: 'a & b.txt', BucketName: 'bucket' },
    });
  });

  it.each([
    ['an empty <Message></Message>', '<Error><Code>AccessDenied</Code><Message></Message></Error>'],
    ['an empty <Message/>', '<Error><Code>AccessDenied</Code><Message/></Error>'],
    ['no <Message>', '<Error><Code>AccessDenied</Code></Error>'],
    ['a BOM and blank lines before the declaration', `\uFEFF\n\n${DECL}<Error><Code>AccessDenied</Code></Error>`],
    ['a namespace on the root', `<Error ${NS}><Code>AccessDenied</Code><Message/></Error>`],
  ])('tolerates %s', (_name, body) => {
    expect(parseErrorDocument(body)).toEqual({ code: 'AccessDenied', message: '', extra: {} });
  });

  it.each([
    ['an empty body', ''],
    ['blanks only', '  \n'],
    ['HTML', '<html><body><h1>502 Bad Gateway</h1></body></html>'],
    ['plain text', 'Service Unavailable'],
    ['another root', `${DECL}<ListBucketResult ${NS}><IsTruncated>false</IsTruncated></ListBucketResult>`],
    ['a truncated document', `${DECL}<Error><Code>SlowDown</Code><Mess`],
    ['an <Error> without <Code>', '<Error><Message>x</Message></Error>'],
  ])('returns undefined for %s', (_name, body) => {
    expect(parseErrorDocument(body)).toBeUndefined();
  });
});

describe('errorFromDocument', () => {
  it.each([
    ['NoSuchKey', 404, S3NotFoundError, false],
    ['NoSuchBucket', 404, S3NotFoundError, false],
    ['NoSuchUpload', 404, S3NotFoundError, false],
    ['AccessDenied', 403, S3Error, false],
    ['InternalError', 200, S3Error, true],
    ['SlowDown', 503, S3Error, true],
    ['RequestTimeout', 400, S3Error, true],
    ['SomethingNew', 502, S3Error, true],
  ] as const)('%s (HTTP %i)', (code, status, type, retryable) => {
    const error = errorFromDocument({ code, message: 'm', requestId: 'r', extra: {} }, { status, bucket: 'b', key: 'k' });
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(retryable);
    expect(error.requestId).toBe('r');
    expect(error.bucket).toBe('b');
    expect(error.key).toBe('k');
  });
});

describe('parseS3Xml', () => {
  it.each([
    ['an empty body', '', /empty body/],
    ['plain text', 'OK', /Malformed or truncated XML/],
    ['a truncated document', `${DECL}<CopyObjectResult><ETag>"abc"</ETag><LastMod`, /Malformed or truncated XML where <CopyObjectResult> was expected/],
    ['a missing closing tag', '<CopyObjectResult><ETag>x</ETag>', /Malformed or truncated/],
    ['trailing garbage', '<CopyObjectResult></CopyObjectResult>garbage', /Malformed or truncated/],
    ['trailing garbage after an empty root', '<CopyObjectResult/>garbage', /text after the root element/],
    ['a second root after an empty one', '<CopyObjectResult/><Other/>', /Expected one <CopyObjectResult> root element, found <CopyObjectResult>, <Other>/],
    ['two roots', '<CopyObjectResult/><CopyObjectResult/>', /Expected one <CopyObjectResult> root element, found several/],
    ['an unexpected root', '<ListBucketResult/>', /Expected an XML <CopyObjectResult> document, got <ListBucketResult>/],
    ['a DOCTYPE (entity expansion)', '<!DOCTYPE x [<!ENTITY e "boom">]><CopyObjectResult>&e;</CopyObjectResult>', /DOCTYPE/],
    ['a prototype-polluting element', '<CopyObjectResult><__proto__><x>1</x></__proto__></CopyObjectResult>', /Unparseable XML/],
    ['an invalid character reference', '<CopyObjectResult><ETag>&#0;</ETag></CopyObjectResult>', /invalid code point/],
  ])('refuses %s as a bad response', (_name, body, message) => {
    expectBadResponse(() => parseS3Xml(body, ['CopyObjectResult']).element['ETag'] && parseCopyResult(body), message);
  });

  it.each([
    ['a trailing comment and blank lines', `${DECL}<R><A>1</A></R>\n<!-- served by x -->\n\n`],
    ['a namespace prefix on the root', '<s3:R xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:A>1</s3:A></s3:R>'],
    ['an empty root with a trailing comment', '<R/><!-- x -->'],
  ])('accepts %s', (_name, body) => {
    expect(parseS3Xml(body, ['R']).root).toBe('R');
  });

  it('keeps every value a string, including number-like ones', () => {
    const { element } = parseS3Xml('<R><A>007</A><B>1e3</B><C>true</C></R>', ['R']);
    expect(element).toEqual({ A: '007', B: '1e3', C: 'true' });
  });
});

describe('parseCopyResult', () => {
  it.each([
    ['CopyObjectResult', `${DECL}<CopyObjectResult ${NS}><LastModified>2024-05-01T12:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>`],
    ['CopyPartResult', `${DECL}<CopyPartResult><ETag>"9b2cf535f27731c974343645a3985328"</ETag><LastModified>2024-05-01T12:00:00.000Z</LastModified></CopyPartResult>`],
  ])('reads %s', (_name, body) => {
    expect(parseCopyResult(body)).toEqual({ etag: '"9b2cf535f27731c974343645a3985328"', lastModified: new Date('2024-05-01T12:00:00.000Z') });
  });

  // Two readers (a regex for the plain shape, the full parser for the rest) must agree. A comment
  // inside the root sends the same document down the full parser.
  const viaParser = (body: string): string => body.replace(/(<Copy(?:Object|Part)Result[^>]*>)/, '$1<!-- x -->');
  it.each([
    ['Ceph RGW (unquoted ETag, no blanks)', `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult ${NS}><LastModified>2026-12-03T23:05:12.235Z</LastModified><ETag>e33b2743a34499b7b3bd879d641902c9</ETag></CopyObjectResult>`],
    ['AWS (lines and indentation)', `${DECL}<CopyObjectResult ${NS}>\n  <LastModified>2026-12-03T23:05:12.000Z</LastModified>\n  <ETag>"e33b2743a34499b7b3bd879d641902c9"</ETag>\n</CopyObjectResult>\n`],
    ['ETag first, &quot; entities', `<CopyPartResult><ETag>&quot;e33b2743a34499b7b3bd879d641902c9&quot;</ETag><LastModified>2026-12-03T23:05:12Z</LastModified></CopyPartResult>`],
    ['a multipart-looking ETag', `<CopyObjectResult><LastModified>2026-12-03T23:05:12Z</LastModified><ETag>"e33b2743a34499b7b3bd879d641902c9-3"</ETag></CopyObjectResult>`],
  ])('reads %s the same whichever reader takes it', (_name, body) => {
    const result = parseCopyResult(body);
    expect(result.etag).toMatch(/^"e33b2743a34499b7b3bd879d641902c9(-3)?"$/);
    expect(result.lastModified).toEqual(new Date(/<LastModified>([^<]*)</.exec(body)![1]!));
    expect(parseCopyResult(viaParser(body))).toEqual(result);
  });

  it('reads a result with more elements than the plain shape (a checksum) through the full parser', () => {
    const body = `${DECL}<CopyObjectResult ${NS}><ETag>"9b2cf535f27731c974343645a3985328"</ETag><LastModified>2024-05-01T12:00:00.000Z</LastModified><ChecksumCRC32>i9gj4w==</ChecksumCRC32></CopyObjectResult>`;
    expect(parseCopyResult(body)).toEqual({ etag: '"9b2cf535f27731c974343645a3985328"', lastModified: new Date('2024-05-01T12:00:00.000Z') });
  });

  it('refuses a plain-shaped result with a bad date or text after the root, as the full parser does', () => {
    expectBadResponse(() => parseCopyResult('<CopyObjectResult><LastModified>yesterday</LastModified><ETag>"a"</ETag></CopyObjectResult>'), /CopyObjectResult\.LastModified> is not a date/);
    expectBadResponse(() => parseCopyResult('<CopyObjectResult><LastModified>2024-05-01T12:00:00Z</LastModified><ETag>"a"</ETag></CopyObjectResult><X/>'), /.+/);
    expectBadResponse(() => parseCopyResult('<CopyObjectResult><LastModified>2024-05-01T12:00:00Z</LastModified><ETag>"a"</ETag></CopyPartResult>'), /.+/);
  });

  it('throws the S3Error of a 200 whose body is an <Error> (the copy failed)', () => {
    const body = `${DECL}\n<Error>\n<Code>InternalError</Code>\n<Message>We encountered an internal error. Please try again.</Message>\n<RequestId>656c76696e6727732072657175657374</RequestId>\n<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>\n</Error>`;
    const error = thrown(() => parseCopyResult(body));
    expect(error).toBeInstanceOf(S3Error);
    expect((error as S3Error).code).toBe('InternalError');
    expect((error as S3Error).status).toBe(200);
    expect((error as S3Error).retryable).toBe(true);
    expect((error as S3Error).requestId).toBe('656c76696e6727732072657175657374');
    expect((error as S3Error).message).toMatch(/We encountered an internal error/);
  });

  it('throws S3NotFoundError for a 200 with <Error><Code>NoSuchKey', () => {
    const error = thrown(() => parseCopyResult('<Error><Code>NoSuchKey</Code><Message></Message></Error>'));
    expect(error).toBeInstanceOf(S3NotFoundError);
    expect((error as S3Error).retryable).toBe(false);
    expect((error as S3Error).message).toMatch(/no message/);
  });

  it.each([
    ['no ETag', '<CopyObjectResult><LastModified>2024-05-01T12:00:00.000Z</LastModified></CopyObjectResult>', /has no <ETag>/],
    ['an empty ETag', '<CopyObjectResult><ETag/><LastModified>2024-05-01T12:00:00.000Z</LastModified></CopyObjectResult>', /empty <ETag>/],
    ['a bad date', '<CopyObjectResult><ETag>"a"</ETag><LastModified>yesterday</LastModified></CopyObjectResult>', /is not a date/],
    ['a truncated body', '<CopyObjectResult><ETag>"a"</ETag>', /truncated/],
  ])('refuses %s', (_name, body, message) => {
    expectBadResponse(() => parseCopyResult(body), message);
  });
});

describe('multipart results', () => {
  it('reads the upload id', () => {
    const body = `${DECL}<InitiateMultipartUploadResult ${NS}><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE+/=</UploadId></InitiateMultipartUploadResult>`;
    expect(parseInitiateMultipartUpload(body)).toBe('VXBsb2FkIElE+/=');
  });

  it('refuses an empty upload id', () => {
    expectBadResponse(() => parseInitiateMultipartUpload('<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>'), /empty <UploadId>/);
  });

  it('reads CompleteMultipartUploadResult', () => {
    const body = `${DECL}<CompleteMultipartUploadResult ${NS}><Location>https://b.s3.amazonaws.com/a%20%26%20b</Location><Bucket>b</Bucket><Key>a &amp; b</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>`;
    expect(parseCompleteMultipartUpload(body)).toEqual({
      etag: '"3858f62230ac3c915f300c664312c11f-9"',
      location: 'https://b.s3.amazonaws.com/a%20%26%20b',
      bucket: 'b',
      key: 'a & b',
    });
  });

  it('an empty <ETag> (Ceph RGW) reads as "": the client HEADs the object for it', () => {
    const body = `${DECL}<CompleteMultipartUploadResult ${NS}><Location>b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>`;
    expect(parseCompleteMultipartUpload(body).etag).toBe('');
  });

  it('quotes an unquoted ETag (Ceph RGW copy results) in copy, part and completion results', () => {
    const date = '<LastModified>2024-05-01T12:00:00.000Z</LastModified>';
    expect(parseCopyResult(`<CopyObjectResult><ETag>9b2cf535f27731c974343645a3985328</ETag>${date}</CopyObjectResult>`).etag).toBe('"9b2cf535f27731c974343645a3985328"');
    expect(parseCopyResult(`<CopyPartResult><ETag>abc</ETag>${date}</CopyPartResult>`).etag).toBe('"abc"');
    expect(parseCompleteMultipartUpload('<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>abc-2</ETag></CompleteMultipartUploadResult>').etag).toBe('"abc-2"');
  });

  it('throws the S3Error of a 200 whose body is an <Error>', () => {
    const error = thrown(() => parseCompleteMultipartUpload(`${DECL}<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>`));
    expect(error).toBeInstanceOf(S3Error);
    expect((error as S3Error).code).toBe('InvalidPart');
    expect((error as S3Error).retryable).toBe(false);
  });

  it('builds CompleteMultipartUpload sorted by part number, ETags escaped', () => {
    expect(
      buildCompleteMultipartUpload([
        { partNumber: 2, etag: '"bbb"' },
        { partNumber: 1, etag: '"aaa"' },
      ]),
    ).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        '<Part><PartNumber>1</PartNumber><ETag>&quot;aaa&quot;</ETag></Part>' +
        '<Part><PartNumber>2</PartNumber><ETag>&quot;bbb&quot;</ETag></Part>' +
        '</CompleteMultipartUpload>',
    );
  });

  it.each<[string, { partNumber: number; etag: string }[], string, RegExp]>([
    ['no parts', [], 'parts', /1 to 10000 parts, got 0/],
    ['part 0', [{ partNumber: 0, etag: 'a' }], 'parts[0].partNumber', /whole number from 1 to 10000, got number/],
    ['part 10001', [{ partNumber: 10001, etag: 'a' }], 'parts[0].partNumber', /from 1 to 10000/],
    ['a fractional part', [{ partNumber: 1.5, etag: 'a' }], 'parts[0].partNumber', /whole number/],
    ['a duplicate', [{ partNumber: 1, etag: 'a' }, { partNumber: 1, etag: 'b' }], 'parts[1].partNumber', /part 1 is listed twice/],
    ['an empty ETag', [{ partNumber: 1, etag: '' }], 'parts[0].etag', /non-empty ETag/],
  ])('refuses %s', (_name, parts, field, message) => {
    expectInvalid(() => buildCompleteMultipartUpload(parts), field, message);
  });
});

describe('parseListObjectsV2', () => {
  const item = (key: string, size = '3') =>
    `<Contents><Key>${key}</Key><LastModified>2024-05-01T12:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;

  it('decodes keys and prefixes of an encoding-type=url page (AWS form: space as +)', () => {
    const body =
      `${DECL}<ListBucketResult ${NS}><Name>b</Name><Prefix></Prefix><KeyCount>9</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>%2F</Delimiter>` +
      `<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>` +
      item('a+b.txt') +
      item('a%2Bb.txt') +
      item('100%25.csv') +
      item('%ED%95%9C%EA%B8%80%2Fx.txt') +
      item('tom+%26+jerry%3C%3E%22%27') +
      item('line%0Abreak%0D') +
      item('%20lead%20and%20trail%20') +
      `<CommonPrefixes><Prefix>run+books/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>%ED%95%9C%EA%B8%80/</Prefix></CommonPrefixes>` +
      `</ListBucketResult>`;
    const page = parseListObjectsV2(body);
    expect(page.contents.map((c) => c.key)).toEqual(['a b.txt', 'a+b.txt', '100%.csv', '한글/x.txt', 'tom & jerry<>"\'', 'line\nbreak\r', ' lead and trail ']);
    expect(page.commonPrefixes).toEqual(['run books/', '한글/']);
    expect(page.isTruncated).toBe(true);
    expect(page.nextContinuationToken).toBe('1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=');
    expect(page.keyCount).toBe(9);
  });

  it('returns typed objects', () => {
    const body = `<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><KeyCount>1</KeyCount>${item('1e3', '5368709121')}</ListBucketResult>`;
    expect(parseListObjectsV2(body)).toEqual({
      contents: [{ key: '1e3', size: 5368709121, etag: '"abc"', lastModified: new Date('2024-05-01T12:00:00.000Z'), storageClass: 'STANDARD' }],
      commonPrefixes: [],
      isTruncated: false,
      keyCount: 1,
    });
  });

  it('leaves keys alone when the page is not URL-encoded (a server ignored the parameter)', () => {
    const body = `<ListBucketResult><IsTruncated>false</IsTruncated>${item('a+b%20c.txt')}${item(' a &amp; b &lt;c&gt; ')}${item('cr&#13;lf&#x0A;é&#233;')}${item('&amp;#233;')}</ListBucketResult>`;
    expect(parseListObjectsV2(body).contents.map((c) => c.key)).toEqual(['a+b%20c.txt', ' a & b <c> ', 'cr\rlf\n\u00e9\u00e9', '&#233;']);
  });

  it('decodes %20 for a space too (servers that percent-encode spaces)', () => {
    const body = `<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>${item('a%20b+c%2B')}</ListBucketResult>`;
    expect(parseListObjectsV2(body).contents[0]?.key).toBe('a b c+');
  });

  it('reads an empty page, counting keys when KeyCount is absent', () => {
    expect(parseListObjectsV2(`${DECL}<ListBucketResult ${NS}><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>`)).toEqual({
      contents: [],
      commonPrefixes: [],
      isTruncated: false,
      keyCount: 0,
    });
    const one = parseListObjectsV2(`<ListBucketResult><IsTruncated>false</IsTruncated>${item('k')}<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListBucketResult>`);
    expect(one.keyCount).toBe(2);
    expect(one.contents).toHaveLength(1);
  });

  it('defaults a missing storage class to STANDARD', () => {
    const body = `<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><LastModified>2024-05-01T12:00:00Z</LastModified><ETag>"e"</ETag><Size>0</Size></Contents></ListBucketResult>`;
    expect(parseListObjectsV2(body).contents[0]?.storageClass).toBe('STANDARD');
  });

  it.each([
    ['a truncated page without a token', `<ListBucketResult><IsTruncated>true</IsTruncated>${item('k')}</ListBucketResult>`, /truncated but has no <NextContinuationToken>/],
    ['a cut-off body', `<ListBucketResult><IsTruncated>false</IsTruncated>${item('k')}<Contents><Key>k2`, /Malformed or truncated XML where <ListBucketResult>/],
    ['a broken percent escape', `<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>${item('a%E0%A4')}</ListBucketResult>`, /<Contents\.Key> is not valid URL encoding/],
    ['an unknown encoding type', `<ListBucketResult><EncodingType>base64</EncodingType><IsTruncated>false</IsTruncated></ListBucketResult>`, /Unknown <EncodingType>/],
    ['a bad size', `<ListBucketResult><IsTruncated>false</IsTruncated>${item('k', '-1')}</ListBucketResult>`, /not a byte count/],
    ['no IsTruncated', `<ListBucketResult>${item('k')}</ListBucketResult>`, /has no <IsTruncated>/],
    ['a bad IsTruncated', '<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>', /not true or false/],
    ['a Contents without Key', '<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Size>1</Size></Contents></ListBucketResult>', /<Contents> has no <Key>/],
  ])('refuses %s', (_name, body, message) => {
    expectBadResponse(() => parseListObjectsV2(body), message);
  });
});

describe('decodeUrlEncodedKey', () => {
  it.each([
    ['a+b', 'a b'],
    ['a%2Bb', 'a+b'],
    ['a%2bb', 'a+b'],
    ['%C3%A9t%C3%A9', 'été'],
    ['%F0%9F%98%80', '😀'],
    ['plain/key.txt', 'plain/key.txt'],
    ['%25', '%'],
  ])('%j → %j', (encoded, decoded) => {
    expect(decodeUrlEncodedKey(encoded)).toBe(decoded);
  });
});

describe('parseListObjectVersions', () => {
  it('reads versions and delete markers, decoding keys and the next key marker', () => {
    const body =
      `${DECL}<ListVersionsResult ${NS}><Name>b</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>` +
      `<NextKeyMarker>next+key%2B</NextKeyMarker><NextVersionIdMarker>v+3/=</NextVersionIdMarker><MaxKeys>3</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>` +
      `<Version><Key>my+file.txt</Key><VersionId>3/L4kqtJl40Nr8X8gdRQBpUMLUo</VersionId><IsLatest>true</IsLatest><LastModified>2024-05-01T12:00:00.000Z</LastModified><ETag>"e1"</ETag><Size>434234</Size><StorageClass>STANDARD_IA</StorageClass><Owner><ID>o</ID></Owner></Version>` +
      `<DeleteMarker><Key>gone%26away</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2024-05-02T12:00:00.000Z</LastModified><Owner><ID>o</ID></Owner></DeleteMarker>` +
      `<Version><Key>gone%26away</Key><VersionId>null</VersionId><IsLatest>false</IsLatest><LastModified>2024-04-01T12:00:00.000Z</LastModified><ETag>"e2"</ETag><Size>0</Size></Version>` +
      `</ListVersionsResult>`;
    expect(parseListObjectVersions(body)).toEqual({
      versions: [
        { key: 'my file.txt', versionId: '3/L4kqtJl40Nr8X8gdRQBpUMLUo', isLatest: true, lastModified: new Date('2024-05-01T12:00:00.000Z'), etag: '"e1"', size: 434234, storageClass: 'STANDARD_IA' },
        { key: 'gone&away', versionId: 'null', isLatest: false, lastModified: new Date('2024-04-01T12:00:00.000Z'), etag: '"e2"', size: 0, storageClass: 'STANDARD' },
      ],
      deleteMarkers: [{ key: 'gone&away', versionId: 'null', isLatest: true, lastModified: new Date('2024-05-02T12:00:00.000Z') }],
      commonPrefixes: [],
      isTruncated: true,
      nextKeyMarker: 'next key+',
      nextVersionIdMarker: 'v+3/=',
    });
  });

  it('reads an empty, complete page', () => {
    expect(parseListObjectVersions('<ListVersionsResult><IsTruncated>false</IsTruncated></ListVersionsResult>')).toEqual({
      versions: [],
      deleteMarkers: [],
      commonPrefixes: [],
      isTruncated: false,
    });
  });

  it('refuses a truncated page without a next key marker', () => {
    expectBadResponse(() => parseListObjectVersions('<ListVersionsResult><IsTruncated>true</IsTruncated></ListVersionsResult>'), /no <NextKeyMarker>/);
  });
});

describe('DeleteObjects', () => {
  it('builds the request, escaping every XML special character', () => {
    expect(buildDeleteRequest([{ key: `a&b<c>d'e"f` }, { key: ' sp ace/ü', versionId: 'v&1' }], true)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>` +
        `<Object><Key>a&amp;b&lt;c&gt;d&apos;e&quot;f</Key></Object>` +
        `<Object><Key> sp ace/ü</Key><VersionId>v&amp;1</VersionId></Object></Delete>`,
    );
  });

  it('omits Quiet unless asked', () => {
    expect(buildDeleteRequest([{ key: 'k' }])).not.toContain('Quiet');
  });

  it('produces XML any parser reads back to the same keys', () => {
    const keys = [`a&b<c>d'e"f`, ' lead', 'trail ', 'ünï/😀', ']]>', '&amp;'];
    const xml = buildDeleteRequest(keys.map((key) => ({ key })));
    const parsed = new XMLParser({ trimValues: false, parseTagValue: false, isArray: (name) => name === 'Object' }).parse(xml) as {
      Delete: { Object: { Key: string }[] };
    };
    expect(parsed.Delete.Object.map((o) => o.Key)).toEqual(keys);
  });

  it('takes 1000 keys and refuses 1001 or none', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}` }));
    expect(() => buildDeleteRequest(many)).not.toThrow();
    expectInvalid(() => buildDeleteRequest([...many, { key: 'one-more' }]), 'keys', /1 to 1000 keys per DeleteObjects request, got 1001/);
    expectInvalid(() => buildDeleteRequest([]), 'keys', /got 0/);
  });

  it.each([
    ['an empty key', [{ key: 'ok' }, { key: '' }], 'keys[1].key', /must not be empty/],
    ['a control character', [{ key: 'a\u0001' }], 'keys[0].key', /U\+0001/],
    ['an empty version id', [{ key: 'k', versionId: '' }], 'keys[0].versionId', /non-empty string/],
  ])('refuses %s', (_name, keys, field, message) => {
    expectInvalid(() => buildDeleteRequest(keys), field, message);
  });

  it('parses a result with deletions and errors', () => {
    const body =
      `${DECL}<DeleteResult ${NS}>` +
      `<Deleted><Key>a &amp; b</Key></Deleted><Deleted><Key>c</Key><VersionId>v1</VersionId><DeleteMarker>true</DeleteMarker></Deleted>` +
      `<Error><Key>locked</Key><VersionId>v2</VersionId><Code>AccessDenied</Code><Message>Access Denied</Message></Error>` +
      `</DeleteResult>`;
    expect(parseDeleteResult(body)).toEqual({
      deleted: ['a & b', 'c'],
      errors: [{ key: 'locked', versionId: 'v2', code: 'AccessDenied', message: 'Access Denied' }],
    });
  });

  it('parses a single error as a list, and a quiet empty result', () => {
    expect(parseDeleteResult('<DeleteResult><Error><Key>k</Key><Code>InternalError</Code><Message/></Error></DeleteResult>')).toEqual({
      deleted: [],
      errors: [{ key: 'k', code: 'InternalError', message: '' }],
    });
    expect(parseDeleteResult(`${DECL}<DeleteResult ${NS}/>`)).toEqual({ deleted: [], errors: [] });
  });

  it('throws the S3Error when the whole request failed', () => {
    expect(thrown(() => parseDeleteResult('<Error><Code>MalformedXML</Code><Message>bad</Message></Error>'))).toBeInstanceOf(S3Error);
  });
});

describe('buildCreateBucketConfiguration', () => {
  it.each([[undefined], [''], ['us-east-1']])('sends no body for %j (S3 refuses us-east-1 as a constraint)', (location) => {
    expect(buildCreateBucketConfiguration(location)).toBeUndefined();
  });

  it.each([['eu-west-1'], ['EU'], ['ap-southeast-2'], ['us-gov-west-1']])('builds the body for %j', (location) => {
    expect(buildCreateBucketConfiguration(location)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${location}</LocationConstraint></CreateBucketConfiguration>`,
    );
  });

  it.each([['eu west 1'], ['<x>'], ['a'.repeat(65)]])('refuses %j', (location) => {
    expectInvalid(() => buildCreateBucketConfiguration(location), 'location', /is not a region name/);
  });
});

describe('access control policies', () => {
  const S3_ACL =
    `${DECL}<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Owner>` +
    `<AccessControlList>` +
    `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd@amazon.com</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
    `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>` +
    `</AccessControlList></AccessControlPolicy>`;

  const POLICY: AccessControlPolicy = {
    owner: { id: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', displayName: 'mtd@amazon.com' },
    grants: [
      {
        grantee: { type: 'CanonicalUser', id: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a', displayName: 'mtd@amazon.com' },
        permission: 'FULL_CONTROL',
      },
      { grantee: { type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AllUsers' }, permission: 'READ' },
    ],
  };

  it('parses S3’s answer to GET ?acl', () => {
    expect(parseAccessControlPolicy(S3_ACL)).toEqual(POLICY);
  });

  it('reads xsi:type whatever prefix the namespace is bound to, and infers it when absent', () => {
    const body =
      `<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList>` +
      `<Grant><Grantee xmlns:foo="http://www.w3.org/2001/XMLSchema-instance" foo:type="CanonicalUser"><ID>u</ID></Grantee><Permission>READ_ACP</Permission></Grant>` +
      `<Grant><Grantee><URI>http://acs.amazonaws.com/groups/s3/LogDelivery</URI></Grantee><Permission>WRITE</Permission></Grant>` +
      `<Grant><Grantee><EmailAddress>a@example.com</EmailAddress></Grantee><Permission>WRITE_ACP</Permission></Grant>` +
      `</AccessControlList></AccessControlPolicy>`;
    expect(parseAccessControlPolicy(body).grants).toEqual([
      { grantee: { type: 'CanonicalUser', id: 'u' }, permission: 'READ_ACP' },
      { grantee: { type: 'Group', uri: 'http://acs.amazonaws.com/groups/s3/LogDelivery' }, permission: 'WRITE' },
      { grantee: { type: 'AmazonCustomerByEmail', email: 'a@example.com' }, permission: 'WRITE_ACP' },
    ]);
  });

  it('builds the body S3 expects, with the xsi namespace on each grantee', () => {
    expect(buildAccessControlPolicy(POLICY)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner><AccessControlList>` +
        `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
        `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>` +
        `</AccessControlList></AccessControlPolicy>`,
    );
  });

  it('round-trips: parse(build(parse(x))) keeps owner id, grantees and permissions', () => {
    const withoutNames = (p: AccessControlPolicy): AccessControlPolicy => ({
      owner: { id: p.owner.id },
      grants: p.grants.map((g) => {
        const { displayName: _dropped, ...grantee } = g.grantee;
        return { grantee, permission: g.permission };
      }),
    });
    const once = parseAccessControlPolicy(S3_ACL);
    expect(parseAccessControlPolicy(buildAccessControlPolicy(once))).toEqual(withoutNames(once));
  });

  it('escapes grantee values', () => {
    const xml = buildAccessControlPolicy({ owner: { id: 'o<&>' }, grants: [{ grantee: { type: 'AmazonCustomerByEmail', email: `a'b"c@example.com` }, permission: 'READ' }] });
    expect(xml).toContain('<ID>o&lt;&amp;&gt;</ID>');
    expect(xml).toContain('<EmailAddress>a&apos;b&quot;c@example.com</EmailAddress>');
    expect(parseAccessControlPolicy(xml).grants[0]?.grantee.email).toBe(`a'b"c@example.com`);
  });

  it.each<[string, AccessControlPolicy, string, RegExp]>([
    ['no owner id', { owner: { id: '' }, grants: [] }, 'policy.owner.id', /canonical id/],
    ['a CanonicalUser without id', { owner: { id: 'o' }, grants: [{ grantee: { type: 'CanonicalUser' }, permission: 'READ' }] }, 'policy.grants[0].grantee.id', /required for a CanonicalUser grantee/],
    ['a Group without uri', { owner: { id: 'o' }, grants: [{ grantee: { type: 'Group', id: 'x' }, permission: 'READ' }] }, 'policy.grants[0].grantee.uri', /required for a Group grantee/],
    ['an unknown grantee type', { owner: { id: 'o' }, grants: [{ grantee: { type: 'Everyone' as 'Group' }, permission: 'READ' }] }, 'policy.grants[0].grantee.type', /not a grantee type/],
    ['an unknown permission', { owner: { id: 'o' }, grants: [{ grantee: { type: 'Group', uri: 'u' }, permission: 'ALL' as 'READ' }] }, 'policy.grants[0].permission', /not an ACL permission; allowed: FULL_CONTROL/],
  ])('refuses to build %s', (_name, policy, field, message) => {
    expectInvalid(() => buildAccessControlPolicy(policy), field, message);
  });

  it.each([
    ['no owner', '<AccessControlPolicy><AccessControlList/></AccessControlPolicy>', /has no <Owner>/],
    ['an unknown permission', '<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee><ID>u</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>', /not an ACL permission/],
    ['a grantee of no known type', '<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee><Nick>u</Nick></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>', /unknown type/],
  ])('refuses to parse %s', (_name, body, message) => {
    expectBadResponse(() => parseAccessControlPolicy(body), message);
  });
});

describe('xmlText', () => {
  it.each([
    ['plain', 'plain'],
    [`&<>"'`, '&amp;&lt;&gt;&quot;&apos;'],
    ['tab\tand\nnewline', 'tab\tand\nnewline'],
    ['carriage\rreturn', 'carriage&#13;return'],
    ['ünï 😀', 'ünï 😀'],
  ])('%j → %j', (input, output) => {
    expect(xmlText(input, 'f')).toBe(output);
  });

  it.each([['\u0000'], ['\u0001'], ['\u001f'], ['\uffff'], ['\ud800']])('refuses %j, which XML 1.0 cannot carry', (input) => {
    expectInvalid(() => xmlText(input, 'keys[0].key'), 'keys[0].key', /XML 1\.0 cannot carry/);
  });
});
