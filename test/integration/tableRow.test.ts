import {
  AzureNamedKeyCredential,
  generateAccountSas,
  RestError,
  TableClient,
} from '@azure/data-tables';
import { RunningAzurite, startAzurite } from '../../local/azurite';
import { freePort } from '../../local/ports';
import { AZURITE_ACCOUNT } from '../../shared/storage/connection';
import { findLocation, KeyRowOwner, writeKeyRows } from '../../shared/index/keyTable';
import { readRow } from '../../shared/storage/tableRow';

/**
 * The plain point read of a row (tableRow.ts) on real storage: authorised by the account key and
 * by a SAS connection string, keys that need escaping, inline bytes exactly as written, and
 * storage that is gone. The bearer-token form runs in identityStorage.test.ts, whose host reads
 * every key's row with the identity's token.
 */
let azurite: RunningAzurite;
let table: TableClient;

beforeAll(async () => {
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  azurite = await startAzurite({ ports });
  table = TableClient.fromConnectionString(azurite.connectionString, 'rawrows', {
    allowInsecureConnection: true,
  });
  await table.createTable();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

// Quotes, spaces, a percent sign and non-ASCII letters: every way a key must be escaped in a URL.
const odd = { partitionKey: "o'brien's feed %20", rowKey: "ü'' (x,y) ☃" };

it('reads a row by keys that need escaping, as the SDK reads it', async () => {
  await table.upsertEntity({ ...odd, text: 'hello', flag: true, count: 3 }, 'Replace');
  const sdk = await table.getEntity(odd.partitionKey, odd.rowKey);
  const raw = await readRow(table, odd.partitionKey, odd.rowKey);
  expect(raw).toMatchObject({ ...odd, text: 'hello', flag: true, count: 3, etag: sdk.etag });
});

it('calls a row that is not there undefined', async () => {
  expect(await readRow(table, 'nobody', 'nothing')).toBeUndefined();
});

it('serves inline bytes exactly as written, and no location for a key with no row', async () => {
  const owner: KeyRowOwner = {
    feed: 'rawfeed',
    packageUid: 'p'.padEnd(32, '0'),
    firstIndexedAt: 1,
  };
  // Every byte value, and a size whose base64 needs padding.
  const bytes = Buffer.from(Array.from({ length: 16 * 1024 - 1 }, (_, i) => (i * 31) % 256));
  await writeKeyRows(
    table,
    owner,
    [
      {
        key: 'inline.pdb/abc/inline.pdb',
        clientKey: 'inline.pdb/abc/inline.pdb',
        source: 'explicit',
        location: {
          packageUid: owner.packageUid,
          blob: 'rawfeed/p.zip',
          blobEtag: '"0x1"',
          entry: 'lib/inline.pdb',
          dataOffset: 100,
          compressedSize: bytes.length,
          size: bytes.length,
          method: 0,
          crc32: 7,
        },
      },
    ],
    new Map([[100, bytes]]),
  );
  const found = await findLocation(table, 'rawfeed', 'inline.pdb/abc/inline.pdb');
  expect(found).toMatchObject({ entry: 'lib/inline.pdb', source: 'explicit', crc32: 7 });
  expect(found?.inline?.equals(bytes)).toBe(true);
  expect(await findLocation(table, 'rawfeed', 'other.pdb/abc/other.pdb')).toBeUndefined();
});

it('reads with the SAS of a connection string that has no account key', async () => {
  const key = /AccountKey=([^;]+)/.exec(azurite.connectionString)?.[1] ?? '';
  const sas = generateAccountSas(new AzureNamedKeyCredential(AZURITE_ACCOUNT, key), {
    permissions: { query: true },
    resourceTypes: 'o',
  });
  const endpoint = table.url.replace(/\/$/, '');
  const viaSas = TableClient.fromConnectionString(
    `TableEndpoint=${endpoint};SharedAccessSignature=${sas}`,
    'rawrows',
    { allowInsecureConnection: true },
  );
  expect(await readRow(viaSas, odd.partitionKey, odd.rowKey)).toMatchObject({ text: 'hello' });
  expect(await readRow(viaSas, 'nobody', 'nothing')).toBeUndefined();
});

it('fails as a RestError, which serving answers with 503, when storage is gone', async () => {
  await azurite.stop();
  await expect(readRow(table, odd.partitionKey, odd.rowKey)).rejects.toBeInstanceOf(RestError);
});
