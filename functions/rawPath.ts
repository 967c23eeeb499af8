/**
 * The path segments after the first `skip` ones, exactly as sent (still percent-encoded). Route
 * parameters come decoded, and decoding twice would turn "%252F" into "/": a key is decoded once,
 * by the domain.
 */
export function rawPathTail(url: string, skip: number): string {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/s, '');
  return path
    .split('/')
    .slice(skip + 1)
    .join('/');
}
