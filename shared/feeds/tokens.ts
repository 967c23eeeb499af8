import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { odata, TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { isAbsent } from '../storage/faults';

import { SCOPES } from './scopes';

export { SCOPES };
export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

/** "sf_" and 32 random bytes, base64url: easy to spot in a leaked file, impossible to guess. */
const TOKEN_FORM = 'sf_[A-Za-z0-9_-]{43}';
const TOKEN_PATTERN = new RegExp(`^${TOKEN_FORM}$`);
/** Anything of the token form in a text, for redaction. */
export const TOKENS_IN_TEXT = new RegExp(TOKEN_FORM, 'g');
/** A token given by configuration; the message says how to make one, never what was given. */
export const tokenSchema = z
  .string()
  .regex(
    TOKEN_PATTERN,
    "must be a symfeed token, \"sf_\" and 43 base64url characters; make one with: node -e \"console.log('sf_' + require('crypto').randomBytes(32).toString('base64url'))\"",
  );
const TOKEN_PARTITION = 'token';
/** A token's public id: the first hex digits of its hash, enough to name it, useless to use it. */
const ID_DIGITS = 16;

export interface TokenInfo {
  /** Names the token in listings and for revocation; not a secret. */
  readonly id: string;
  readonly feed: string;
  readonly scopes: readonly Scope[];
  readonly owner: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly revoked: boolean;
  /** What made the token, where that matters (`npm start`). */
  readonly label?: string;
}

const rowSchema = z.object({
  rowKey: z.string(),
  feed: z.string(),
  scopes: z.string(),
  owner: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  revoked: z.boolean(),
  label: z.string().optional(),
});

/** The only form of a token symfeed keeps, in storage and in memory. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function toInfo(row: z.infer<typeof rowSchema>): TokenInfo {
  return {
    id: row.rowKey.slice(0, ID_DIGITS),
    feed: row.feed,
    scopes: z.array(scopeSchema).parse(row.scopes.split(',')),
    owner: row.owner,
    createdAt: row.createdAt,
    ...(row.expiresAt ? { expiresAt: row.expiresAt } : {}),
    revoked: row.revoked,
    ...(row.label ? { label: row.label } : {}),
  };
}

export interface NewToken {
  feed: string;
  scopes: readonly Scope[];
  /** Who the token acts for; packages pushed with it belong to this owner. */
  owner?: string;
  expiresAt?: Date;
  label?: string;
}

/** Whether text has the form of a symfeed token. */
export function isTokenFormat(text: string): boolean {
  return TOKEN_PATTERN.test(text);
}

/**
 * Makes a token; only its hash is stored, so the returned secret is the only copy there is. A
 * `secret` of the token form is stored instead of a random one (a token set by configuration).
 */
export async function createToken(
  table: TableClient,
  request: NewToken,
  secret?: string,
): Promise<{ token: string; info: TokenInfo }> {
  if (secret !== undefined && !isTokenFormat(secret)) throw new Error('not a symfeed token');
  const token = secret ?? `sf_${randomBytes(32).toString('base64url')}`;
  const hash = hashToken(token);
  const row = {
    partitionKey: TOKEN_PARTITION,
    rowKey: hash,
    feed: request.feed,
    scopes: [...new Set(request.scopes)].join(','),
    owner: request.owner ?? `token-${hash.slice(0, ID_DIGITS)}`,
    createdAt: new Date().toISOString(),
    ...(request.expiresAt ? { expiresAt: request.expiresAt.toISOString() } : {}),
    revoked: false,
    ...(request.label ? { label: request.label } : {}),
  };
  await table.createEntity(row);
  return { token, info: toInfo(row) };
}

export type TokenCheck =
  | { valid: true; info: TokenInfo }
  | { valid: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

/** Looks a presented token up by its hash; nothing about the token itself is ever logged. */
export async function checkToken(
  table: TableClient,
  presented: string,
  now = new Date(),
): Promise<TokenCheck> {
  if (!isTokenFormat(presented)) return { valid: false, reason: 'malformed' };
  const found = await findToken(table, hashToken(presented));
  return found.valid ? validity(found.info, now) : found;
}

/** A token's row by the hash of the token, as stored: unknown, revoked, or its details. */
export async function findToken(
  table: TableClient,
  hash: string,
): Promise<{ valid: true; info: TokenInfo } | { valid: false; reason: 'unknown' | 'revoked' }> {
  let row: z.infer<typeof rowSchema>;
  try {
    row = rowSchema.parse(await table.getEntity(TOKEN_PARTITION, hash));
  } catch (error) {
    if (isAbsent(error)) return { valid: false, reason: 'unknown' };
    throw error;
  }
  // The lookup already matched; comparing the digests in constant time as well keeps the check
  // free of timing differences whatever the storage does.
  if (!timingSafeEqual(Buffer.from(row.rowKey, 'hex'), Buffer.from(hash, 'hex'))) {
    return { valid: false, reason: 'unknown' };
  }
  if (row.revoked) return { valid: false, reason: 'revoked' };
  return { valid: true, info: toInfo(row) };
}

/** Expiry is judged at each use, so a remembered token still stops at its time. */
export function validity(info: TokenInfo, now: Date): TokenCheck {
  if (info.expiresAt && new Date(info.expiresAt) <= now) return { valid: false, reason: 'expired' };
  return { valid: true, info };
}

export async function listTokens(table: TableClient, feed?: string): Promise<TokenInfo[]> {
  const filter = feed
    ? odata`PartitionKey eq ${TOKEN_PARTITION} and feed eq ${feed}`
    : odata`PartitionKey eq ${TOKEN_PARTITION}`;
  const tokens: TokenInfo[] = [];
  for await (const row of table.listEntities({ queryOptions: { filter } })) {
    tokens.push(toInfo(rowSchema.parse(row)));
  }
  return tokens;
}

/**
 * Revokes by public id. Processes remember valid tokens for a few seconds (TokenCache): the one
 * that revokes through its cache forgets at once, the others when their memory expires.
 */
export async function revokeToken(table: TableClient, id: string): Promise<TokenInfo | undefined> {
  if (!/^[0-9a-f]{16}$/.test(id)) return undefined;
  const rows = table.listEntities({
    queryOptions: {
      filter: odata`PartitionKey eq ${TOKEN_PARTITION} and RowKey ge ${id} and RowKey lt ${`${id}~`}`,
    },
  });
  for await (const entity of rows) {
    const row = rowSchema.parse(entity);
    await table.updateEntity(
      { partitionKey: TOKEN_PARTITION, rowKey: row.rowKey, revoked: true },
      'Merge',
    );
    return toInfo({ ...row, revoked: true });
  }
  return undefined;
}

/** "90d", "12h", "30m": token lifetimes as people write them. */
export function parseLifetime(text: string, now = new Date()): Date | undefined {
  const match = /^(\d{1,5})([dhm])$/.exec(text);
  if (!match) return undefined;
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
  return new Date(now.getTime() + Number(match[1]) * unit);
}
