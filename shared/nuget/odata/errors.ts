/** A request the feed cannot answer as asked: a 400 that names what is not supported or wrong. */
export class ODataError extends Error {
  override readonly name = 'ODataError';
}
