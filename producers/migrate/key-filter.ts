import { ValidationError } from '../../shared/errors.js';

/**
 * A key filter from a glob: `*` matches within one path segment, `**` across segments, `?` one
 * character; everything else is literal. `images/**\/*.jpg` keeps JPEGs anywhere under images/.
 */
export function globToRegExp(glob: string, field = 'filter'): RegExp {
  if (glob === '' || glob.length > 1024) throw new ValidationError(field, 'must be a glob of 1-1024 characters, e.g. "images/**/*.jpg"');
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        // `**/` also matches zero segments: `a/**/b` keeps `a/b`.
        if (glob[i + 2] === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else source += '[^/]*';
    } else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

export interface KeyFilterOptions {
  /** Glob on the whole key. */
  glob?: string | undefined;
  minSize?: number | undefined;
  maxSize?: number | undefined;
}

export type KeyFilter = (object: { key: string; size: number }) => boolean;

export function keyFilter(options: KeyFilterOptions): KeyFilter {
  const re = options.glob === undefined ? undefined : globToRegExp(options.glob);
  const { minSize, maxSize } = options;
  return (o) => (re === undefined || re.test(o.key)) && (minSize === undefined || o.size >= minSize) && (maxSize === undefined || o.size <= maxSize);
}
