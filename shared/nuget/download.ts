import { Readable } from 'node:stream';
import yazl from 'yazl';
import { streamStatusDocument } from '../packages/statusDocument';
import { StorageClients } from '../storage/clients';
import { PackageView } from '../listings/packageView';
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
 * package's status document — what was found in it, where, and what went wrong. The document is
 * streamed into the zip as stored (bounded when written), never parsed or held whole: anonymous
 * downloads of a large package's status must cost the host next to nothing.
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
  const status = await streamStatusDocument(
    storage.statusContainer,
    feed ?? subfeed.feed,
    view.uid,
  );
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
  // Stored, not deflated, so that yazl knows the length in advance for Content-Length.
  const stored = { compress: false };
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(contentTypes), '[Content_Types].xml', stored);
  zip.addBuffer(Buffer.from(relationships), '_rels/.rels', stored);
  zip.addBuffer(Buffer.from(nuspec), `${view.id}.nuspec`, stored);
  if (status) {
    zip.addReadStream(status.body, 'status.json', { ...stored, size: status.length });
    // A response dropped early (a HEAD, a client gone) must not leave the blob read hanging.
    zip.outputStream.once('close', () => status.body.destroy());
  } else {
    zip.addBuffer(
      Buffer.from(JSON.stringify({ state: view.state }, null, 2)),
      'status.json',
      stored,
    );
  }
  // @types/yazl leaves out the callback's argument: the total size, or -1 when yazl cannot tell.
  const length = await new Promise<number>((resolve) =>
    zip.end(undefined, resolve as unknown as () => void),
  );
  return {
    headers: {
      'Content-Type': 'application/octet-stream',
      ...(length >= 0 ? { 'Content-Length': String(length) } : {}),
    },
    body: zip.outputStream as Readable,
  };
}
