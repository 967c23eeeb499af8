import { XMLBuilder } from 'fast-xml-parser';
import { FeedPackage } from './packages';
import { PROPERTIES, PropertyName, Value } from './properties';

const ATOM = 'http://www.w3.org/2005/Atom';
const APP = 'http://www.w3.org/2007/app';
const DATA = 'http://schemas.microsoft.com/ado/2007/08/dataservices';
const METADATA = 'http://schemas.microsoft.com/ado/2007/08/dataservices/metadata';
const SCHEME = 'http://schemas.microsoft.com/ado/2007/08/dataservices/scheme';
/** nuget.org's names: WCF Data Services clients (NuGet 2.x) match entries by them. */
const NAMESPACE = 'NuGetGallery.OData';
const ENTITY_TYPE = 'V2FeedPackage';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
  // m:null="true" must be spelled out; XML has no attributes without values.
  suppressBooleanAttributes: false,
});

type Node = Record<string, unknown>;

function document(root: Node): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'utf-8' },
    ...root,
  }) as string;
}

/** Edm.DateTime as nuget.org writes it: UTC without a zone designator. */
function edmDateTime(iso: string): string {
  return iso.replace(/Z$/, '');
}

function property(name: PropertyName, value: Value): unknown {
  if (value === null) return { '@_m:null': 'true' };
  const type = PROPERTIES[name];
  if (type === 'Edm.String') return value;
  return {
    '@_m:type': type,
    '#text': type === 'Edm.DateTime' ? edmDateTime(String(value)) : String(value),
  };
}

/** An OData key literal inside a URL: quotes doubled, then percent-encoded. */
function keyPart(value: string): string {
  return encodeURIComponent(value.replace(/'/g, "''"));
}

function entryPath(p: FeedPackage): string {
  return `Packages(Id='${keyPart(p.view.id)}',Version='${keyPart(p.view.version)}')`;
}

function downloadPath(p: FeedPackage): string {
  return `package/${encodeURIComponent(p.view.id)}/${encodeURIComponent(p.view.version)}`;
}

function entry(base: string, p: FeedPackage): Node {
  const props = p.props;
  return {
    id: `${base}${entryPath(p)}`,
    category: { '@_term': `${NAMESPACE}.${ENTITY_TYPE}`, '@_scheme': SCHEME },
    link: [{ '@_rel': 'edit', '@_title': ENTITY_TYPE, '@_href': entryPath(p) }],
    // NuGet 2.x reads Id, Authors, LastUpdated and Summary from these Atom elements (nuget.org's
    // feed customisations); NuGet 3+ reads the properties.
    title: { '@_type': 'text', '#text': props.Id },
    summary: { '@_type': 'text', '#text': props.Summary },
    updated: props.LastUpdated,
    author: { name: props.Authors },
    content: { '@_type': 'application/zip', '@_src': `${base}${downloadPath(p)}` },
    'm:properties': Object.fromEntries(
      (Object.keys(PROPERTIES) as PropertyName[]).map((name) => [
        `d:${name}`,
        property(name, props[name]),
      ]),
    ),
  };
}

const NAMESPACES = {
  '@_xmlns': ATOM,
  '@_xmlns:d': DATA,
  '@_xmlns:m': METADATA,
};

export interface FeedDocument {
  /** The v2 root of the (sub)feed, ending in a slash. */
  readonly base: string;
  /** The collection or function, as in the request path: Packages, Search, FindPackagesById. */
  readonly title: string;
  readonly entries: readonly FeedPackage[];
  readonly count?: number;
  readonly next?: string;
}

export function atomFeed(feed: FeedDocument): string {
  return document({
    feed: {
      '@_xml:base': feed.base,
      ...NAMESPACES,
      ...(feed.count === undefined ? {} : { 'm:count': feed.count }),
      id: `${feed.base}${feed.title}`,
      title: { '@_type': 'text', '#text': feed.title },
      updated: new Date().toISOString(),
      link: [
        { '@_rel': 'self', '@_title': feed.title, '@_href': feed.title },
        ...(feed.next === undefined ? [] : [{ '@_rel': 'next', '@_href': feed.next }]),
      ],
      entry: feed.entries.map((p) => entry(feed.base, p)),
    },
  });
}

export function atomEntry(base: string, p: FeedPackage): string {
  return document({ entry: { '@_xml:base': base, ...NAMESPACES, ...entry(base, p) } });
}

export function serviceDocument(base: string): string {
  return document({
    service: {
      '@_xml:base': base,
      '@_xmlns': APP,
      '@_xmlns:atom': ATOM,
      workspace: {
        'atom:title': 'Default',
        collection: { '@_href': 'Packages', 'atom:title': 'Packages' },
      },
    },
  });
}

/** Which property each Atom element carries, as nuget.org's $metadata declares. */
const FEED_CUSTOMISATIONS: Partial<Record<PropertyName, string>> = {
  Id: 'SyndicationTitle',
  Authors: 'SyndicationAuthorName',
  LastUpdated: 'SyndicationUpdated',
  Summary: 'SyndicationSummary',
};

function functionImport(name: string, parameters: readonly [string, string][]): Node {
  return {
    '@_Name': name,
    '@_EntitySet': 'Packages',
    '@_ReturnType': `Collection(${NAMESPACE}.${ENTITY_TYPE})`,
    '@_m:HttpMethod': 'GET',
    Parameter: parameters.map(([parameter, type]) => ({ '@_Name': parameter, '@_Type': type })),
  };
}

/**
 * The EDMX document. NuGet 2.x reads it to learn which functions the feed offers and calls
 * Search() and FindPackagesById() only when they are declared.
 */
export function metadataDocument(): string {
  return document({
    'edmx:Edmx': {
      '@_Version': '1.0',
      '@_xmlns:edmx': 'http://schemas.microsoft.com/ado/2007/06/edmx',
      'edmx:DataServices': {
        '@_xmlns:m': METADATA,
        '@_m:DataServiceVersion': '2.0',
        '@_m:MaxDataServiceVersion': '2.0',
        Schema: {
          '@_Namespace': NAMESPACE,
          '@_xmlns': 'http://schemas.microsoft.com/ado/2006/04/edm',
          '@_xmlns:d': DATA,
          '@_xmlns:m': METADATA,
          EntityType: {
            '@_Name': ENTITY_TYPE,
            '@_m:HasStream': 'true',
            Key: { PropertyRef: [{ '@_Name': 'Id' }, { '@_Name': 'Version' }] },
            Property: (Object.keys(PROPERTIES) as PropertyName[]).map((name) => {
              const target = FEED_CUSTOMISATIONS[name];
              return {
                '@_Name': name,
                '@_Type': PROPERTIES[name],
                '@_Nullable': name === 'Id' || name === 'Version' ? 'false' : 'true',
                ...(target === undefined
                  ? {}
                  : {
                      '@_m:FC_TargetPath': target,
                      '@_m:FC_ContentKind': 'text',
                      '@_m:FC_KeepInContent': 'true',
                    }),
              };
            }),
          },
          EntityContainer: {
            '@_Name': 'V2FeedContext',
            '@_m:IsDefaultEntityContainer': 'true',
            EntitySet: { '@_Name': 'Packages', '@_EntityType': `${NAMESPACE}.${ENTITY_TYPE}` },
            FunctionImport: [
              functionImport('Search', [
                ['searchTerm', 'Edm.String'],
                ['targetFramework', 'Edm.String'],
                ['includePrerelease', 'Edm.Boolean'],
              ]),
              functionImport('FindPackagesById', [['id', 'Edm.String']]),
            ],
          },
        },
      },
    },
  });
}

export function errorDocument(message: string): string {
  return document({
    'm:error': {
      '@_xmlns:m': METADATA,
      'm:code': '',
      'm:message': { '@_xml:lang': 'en-US', '#text': message },
    },
  });
}
