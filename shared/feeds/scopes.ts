/** What a token may do on its feed; a module of its own so that the web page can import it. */
export const SCOPES = ['read', 'push', 'delete', 'admin'] as const;
