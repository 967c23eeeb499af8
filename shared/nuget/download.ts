import { Readable } from 'node:stream';
import yazl from 'yazl';
import { readStatusDocument } from '../packages/statusDocument';
import { StorageClients } from '../storage/clients';
import { PackageView } from './feedView';
import { Subfeed } from './subfeed';

export interface Download {
  readonly headers: Record<string, string>;
  readonly body: Readable;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * What a NuGet client downloads from a subfeed: from `original`, the package as uploaded; from
 * every other subfeed (the plain feed included), as SymbolSource did, a nupkg whose content is the
 * package's status document — what was found in it, where, and what went wrong.
 */
export async function downloadPackage(
  storage: StorageClients,
  subfeed: Subfeed,
  view: PackageView,
): Promise<Download> {
  if (subfeed.state === 'original') {
    const download = await storage.packagesContainer.getBlobClient(view.blob).download();
    return {
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(download.contentLength ?? view.size),
      },
      body: download.readableStreamBody as Readable,
    };
  }
  const [feed] = view.blob.split('/');
  const doc = await readStatusDocument(storage.statusContainer, feed ?? subfeed.feed, view.uid);
  const nuspec = `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>${escapeXml(view.id)}</id>
    <version>${escapeXml(view.version)}</version>
    <authors>symfeed</authors>
    <description>${escapeXml(`symfeed status of upload ${view.uid}: ${view.state}`)}</description>
  </metadata>
</package>
`;
  // The Open Packaging parts older clients (NuGet 2.x) look for before they read the manifest.
  const contentTypes = `<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="json" ContentType="application/octet" />
</Types>
`;
  const relationships = `<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/${escapeXml(view.id)}.nuspec" Id="manifest" />
</Relationships>
`;
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(contentTypes), '[Content_Types].xml');
  zip.addBuffer(Buffer.from(relationships), '_rels/.rels');
  zip.addBuffer(Buffer.from(nuspec), `${view.id}.nuspec`);
  zip.addBuffer(Buffer.from(JSON.stringify(doc ?? { state: view.state }, null, 2)), 'status.json');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return {
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
    body: Readable.from([bytes]),
  };
}
