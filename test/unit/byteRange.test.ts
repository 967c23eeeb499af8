import { parseRange } from '../../shared/serve/byteRange';

describe('parseRange (RFC 9110 14.2)', () => {
  it.each([
    [undefined, 100, { kind: 'whole' }],
    ['bytes=0-9', 100, { kind: 'range', start: 0, end: 10 }],
    ['bytes=90-', 100, { kind: 'range', start: 90, end: 100 }],
    ['bytes=-10', 100, { kind: 'range', start: 90, end: 100 }],
    ['bytes=-500', 100, { kind: 'range', start: 0, end: 100 }],
    ['bytes=50-5000', 100, { kind: 'range', start: 50, end: 100 }],
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=9-3', 100, { kind: 'whole' }],
    ['bytes=0-1,5-6', 100, { kind: 'whole' }],
    ['items=0-1', 100, { kind: 'whole' }],
    ['bytes=-', 100, { kind: 'whole' }],
  ])('%j of %d bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});
