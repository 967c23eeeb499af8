/**
 * An absolute http(s) URL, perhaps with a path, and nothing a base cannot carry: no credentials,
 * query or fragment, so that paths appended to it stay paths.
 */
export function isBaseUrl(text: string): boolean {
  if (!URL.canParse(text) || /[?#]/.test(text)) return false;
  const url = new URL(text);
  return ['http:', 'https:'].includes(url.protocol) && !url.username && !url.password;
}
