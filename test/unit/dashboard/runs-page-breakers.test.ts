/** The dashboard's runs page says which S3 endpoints workers hold jobs back for (escaped). */
import { describe, expect, it } from 'vitest';
import { renderRunsPage } from '../../../producers/dashboard/runs-page.js';

const options = { queue: 'q', queuesPath: '/queues', jsonPath: '/runs.json' };

describe('runs page: circuit breakers', () => {
  it('one line per open breaker, HTML-escaped; "all answering" when none; nothing when not read', () => {
    const open = renderRunsPage([], { ...options, s3Breakers: ['S3 endpoint http://h:1 unavailable for 30 s <b>'] });
    expect(open).toContain('<strong>S3 unavailable:</strong>');
    expect(open).toContain('<li>S3 endpoint http://h:1 unavailable for 30 s &lt;b&gt;</li>');
    expect(renderRunsPage([], { ...options, s3Breakers: [] })).toContain('S3 endpoints: all answering (no circuit breaker open)');
    expect(renderRunsPage([], options)).not.toContain('S3 endpoints');
  });
});
