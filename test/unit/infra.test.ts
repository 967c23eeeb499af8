import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings, SETTING_NAMES } from '../../shared/config/settings';
import { CONTAINERS, QUEUES, TABLES } from '../../shared/storage/clients';
import { METRIC_NAMES } from '../../shared/telemetry/metrics';

/**
 * infra/ cannot be compiled or deployed here (no Bicep CLI, no Azure), and no npm package parses
 * Bicep. These checks read its text: resources by their `resource name 'Type@version'` lines,
 * blocks by brace counting, values by regular expressions. Their limits: a brace inside a string
 * or comment that is not balanced would mislead blockOf, and expressions are matched as text,
 * never evaluated.
 */

const ROOT = join(__dirname, '..', '..');
const INFRA = join(ROOT, 'infra');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const modules = Object.fromEntries(
  readdirSync(join(INFRA, 'modules'))
    .filter((file) => file.endsWith('.bicep'))
    .map((file) => [file, read(`infra/modules/${file}`)]),
);
const main = read('infra/main.bicep');
const allBicep = [main, ...Object.values(modules)].join('\n');

/** The text between the brace that opens after `from` and the brace that closes it. */
function blockOf(text: string, from: number): string {
  const open = text.indexOf('{', from);
  let depth = 0;
  for (let at = open; at < text.length; at++) {
    if (text[at] === '{') depth++;
    if (text[at] === '}' && --depth === 0) return text.slice(open + 1, at);
  }
  throw new Error(`unbalanced braces after ${from}`);
}

interface Resource {
  readonly symbol: string;
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  readonly body: string;
}

function resourcesOf(text: string): Resource[] {
  return [...text.matchAll(/^resource (\w+) '([^'@]+)@([^']+)'( existing)?/gm)].map((match) => ({
    symbol: match[1] ?? '',
    type: match[2] ?? '',
    apiVersion: match[3] ?? '',
    existing: match[4] !== undefined,
    body: blockOf(text, match.index ?? 0),
  }));
}

const resources = resourcesOf(allBicep);
const deployed = (type: string) => resources.filter((r) => r.type === type && !r.existing);
const one = (type: string) => {
  const found = deployed(type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** `var name = ['a', 'b']` in a module. */
function stringArray(text: string, name: string): string[] {
  const match = new RegExp(`^var ${name} = \\[([^\\]]*)\\]`, 'm').exec(text);
  if (!match) throw new Error(`no var ${name}`);
  return [...(match[1] ?? '').matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}

/** The role definition ids a module's role assignments use, through its `var`s or literally. */
function assignedRoles(text: string): string[] {
  const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  return resourcesOf(text)
    .filter((r) => r.type === 'Microsoft.Authorization/roleAssignments')
    .flatMap((r) => {
      const reference = /roleDefinitions', ([\w.]+)\)/.exec(r.body)?.[1] ?? '';
      if (reference === 'a.role')
        return [...blockOf(text, text.indexOf('var roles')).matchAll(guid)];
      const name = reference.split('.').pop() ?? '';
      const defined = new RegExp(`\\b${name}(?::| =) '([0-9a-f-]{36})'`).exec(text)?.[1];
      return defined ? [[defined]] : [];
    })
    .map((match) => match[0] ?? '');
}

const ROLES = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
};

describe('infra/: what it deploys', () => {
  it('pins a released API version for every resource type', () => {
    expect(resources.length).toBeGreaterThan(20);
    for (const r of resources) expect(`${r.type}@${r.apiVersion}`).toMatch(/@\d{4}-\d{2}-\d{2}$/);
  });

  it('holds no account key, SAS or connection string with a secret', () => {
    for (const text of [allBicep, read('infra/main.parameters.json'), read('azure.yaml')]) {
      expect(text).not.toMatch(/listKeys|listAccountSas|listServiceSas|listSecrets/i);
      expect(text).not.toMatch(/AccountKey|SharedAccessSignature|SharedAccessKey|primaryKey/i);
      expect(text).not.toMatch(/InstrumentationKey=/);
    }
  });

  it('makes storage accounts reachable with Entra ID only, over TLS 1.2, never publicly', () => {
    const accounts = deployed('Microsoft.Storage/storageAccounts');
    expect(accounts).toHaveLength(2); // data, deployment package
    for (const account of accounts) {
      expect(account.body).toMatch(/allowSharedKeyAccess: false/);
      expect(account.body).toMatch(/minimumTlsVersion: 'TLS1_2'/);
      expect(account.body).toMatch(/allowBlobPublicAccess: false/);
    }
  });

  it('creates every container, table and queue the code names, and the poison queues', () => {
    const storage = modules['storage.bicep']!;
    expect(stringArray(storage, 'containers')).toEqual(Object.values(CONTAINERS));
    expect(stringArray(storage, 'tables')).toEqual(Object.values(TABLES));
    expect(stringArray(storage, 'queues')).toEqual(Object.values(QUEUES));
    expect(storage).toMatch(/flatten\(map\(queues, q => \[q, '\$\{q\}-poison'\]\)\)/);
    expect(storage).toMatch(/output packagesContainer string = containers\[0\]/);
    expect(storage).toMatch(/output packageEventsQueue string = queues\[1\]/);
    expect([CONTAINERS.packages, QUEUES.packageEvents]).toEqual([
      stringArray(storage, 'containers')[0],
      stringArray(storage, 'queues')[1],
    ]);
  });

  it('runs the app on Flex Consumption, Node, with its scale as parameters', () => {
    expect(one('Microsoft.Web/serverfarms').body).toMatch(/name: 'FC1', tier: 'FlexConsumption'/);
    const site = one('Microsoft.Web/sites').body;
    const config = blockOf(site, site.indexOf('functionAppConfig'));
    expect(config).toMatch(/type: 'blobContainer'/);
    expect(config).toMatch(/type: 'UserAssignedIdentity'/);
    expect(config).toMatch(/maximumInstanceCount: maximumInstanceCount/);
    expect(config).toMatch(/instanceMemoryMB: instanceMemoryMB/);
    expect(config).toMatch(/name: 'node'/);
    expect(site).toMatch(/type: 'UserAssigned'/);
    expect(main).toMatch(/^param maximumInstanceCount int/m);
    expect(main).toMatch(/^param instanceMemoryMB int/m);
  });

  it('gives each identity exactly the roles it needs', () => {
    expect(assignedRoles(modules['storage.bicep']!).sort()).toEqual(
      [
        ROLES.storageBlobDataOwner,
        ROLES.storageQueueDataContributor,
        ROLES.storageTableDataContributor,
      ].sort(),
    );
    expect(assignedRoles(modules['functionApp.bicep']!)).toEqual([ROLES.storageBlobDataOwner]);
    expect(assignedRoles(modules['monitoring.bicep']!)).toEqual([ROLES.monitoringMetricsPublisher]);
    expect(assignedRoles(modules['events.bicep']!).sort()).toEqual(
      [ROLES.storageQueueDataMessageSender, ROLES.storageBlobDataContributor].sort(),
    );
    expect(new Set(assignedRoles(modules['secrets.bicep']!))).toEqual(
      new Set([ROLES.keyVaultSecretsUser]),
    );
    for (const r of deployed('Microsoft.Authorization/roleAssignments')) {
      expect(r.body).toMatch(/principalType: /);
    }
  });

  it('delivers blob events of packages to the package-events queue with the topic identity', () => {
    one('Microsoft.EventGrid/systemTopics');
    const subscription = one('Microsoft.EventGrid/systemTopics/eventSubscriptions').body;
    expect(subscription).toMatch(
      /includedEventTypes: \['Microsoft\.Storage\.BlobCreated', 'Microsoft\.Storage\.BlobDeleted'\]/,
    );
    expect(subscription).toMatch(
      /subjectBeginsWith: '\/blobServices\/default\/containers\/\$\{packagesContainer\}\/'/,
    );
    expect(subscription).toMatch(/eventDeliverySchema: 'EventGridSchema'/);
    const delivery = blockOf(subscription, subscription.indexOf('deliveryWithResourceIdentity'));
    expect(delivery).toMatch(/endpointType: 'StorageQueue'/);
    expect(delivery).toMatch(/queueName: packageEventsQueue/);
    const deadLetter = blockOf(
      subscription,
      subscription.indexOf('deadLetterWithResourceIdentity'),
    );
    expect(deadLetter).toMatch(/endpointType: 'StorageBlob'/);
    expect(subscription.replace(delivery, '')).not.toMatch(/\bdestination:/); // none without the identity
    expect(main).toMatch(/packagesContainer: storage\.outputs\.packagesContainer/);
    expect(main).toMatch(/packageEventsQueue: storage\.outputs\.packageEventsQueue/);
  });

  it('keeps Application Insights on a workspace with local authentication off', () => {
    one('Microsoft.OperationalInsights/workspaces');
    const insights = one('Microsoft.Insights/components').body;
    expect(insights).toMatch(/WorkspaceResourceId: workspace\.id/);
    expect(insights).toMatch(/DisableLocalAuth: true/);
  });

  it('keeps the admin token in Key Vault and references it from the app setting', () => {
    expect(one('Microsoft.KeyVault/vaults').body).toMatch(/enableRbacAuthorization: true/);
    expect(one('Microsoft.KeyVault/vaults/secrets').body).toMatch(/value: adminToken/);
    expect(main).toMatch(/@secure\(\)\s*\n(@description\([^\n]*\)\s*\n)?param adminToken string/);
    expect(modules['secrets.bicep']).toMatch(/@secure\(\)\s*\nparam adminToken string/);
  });

  it('deploys the workbook and the two example alerts', () => {
    const workbook = one('Microsoft.Insights/workbooks').body;
    expect(workbook).toMatch(/serializedData: workbookJson/);
    expect(modules['dashboards.bicep']).toMatch(/loadTextContent\('workbook\.json'\)/);
    const alerts = deployed('Microsoft.Insights/scheduledQueryRules');
    expect(alerts.map((a) => /name: '([^']+)'/.exec(a.body)?.[1]).sort()).toEqual([
      'symfeed-5xx-rate',
      'symfeed-poison-messages',
    ]);
    expect(alerts[0]!.body).toMatch(/resultCode\) >= 500/);
    expect(alerts[1]!.body).toMatch(/-poison/);
  });

  it('outputs the symbol server and NuGet URLs of the feed default and the workbook link', () => {
    expect(main).toMatch(
      /^output SYMBOL_SERVER_URL string = '\$\{baseUrl\}\/F\/default\/symbols'/m,
    );
    expect(main).toMatch(
      /^output NUGET_SOURCE_URL string = '\$\{baseUrl\}\/F\/default\/api\/v3\/index\.json'/m,
    );
    expect(main).toMatch(/^output WORKBOOK_URL string = dashboards\.outputs\.workbookUrl/m);
  });

  it('passes each module the parameters it declares and reads only outputs it has', () => {
    for (const call of main.matchAll(/^module (\w+) 'modules\/([\w.]+)'/gm)) {
      const [, symbol = '', file = ''] = call;
      expect(existsSync(join(INFRA, 'modules', file))).toBe(true);
      const text = modules[file]!;
      const declared = [...text.matchAll(/^param (\w+) \w+( = .*)?$/gm)];
      const params = blockOf(main, main.indexOf('params:', call.index));
      const passed = [...params.matchAll(/(?:^|[{,\n])\s*(\w+):/g)].map((m) => m[1]);
      expect(passed.filter((name) => !declared.some((d) => d[1] === name))).toEqual([]);
      const required = declared.filter((d) => d[2] === undefined).map((d) => d[1]);
      expect(required.filter((name) => !passed.includes(name))).toEqual([]);
      const outputs = [...text.matchAll(/^output (\w+) /gm)].map((m) => m[1]);
      for (const used of main.matchAll(new RegExp(`\\b${symbol}\\.outputs\\.(\\w+)`, 'g'))) {
        expect(outputs).toContain(used[1]);
      }
    }
  });

  it('has azd deploy this folder as a function app', () => {
    const azure = read('azure.yaml');
    expect(azure).toMatch(/host: function/);
    expect(azure).toMatch(/language: ts/);
    expect(azure).toMatch(/path: infra/);
    expect(one('Microsoft.Web/sites').body).toMatch(/'azd-service-name'|tags: tags/);
    expect(main).toMatch(/'azd-service-name': 'symfeed'/);
  });
});

describe('infra/: the app settings', () => {
  const functionApp = modules['functionApp.bicep']!;
  const settingsBlock = blockOf(
    functionApp,
    functionApp.indexOf('properties', functionApp.indexOf("name: 'appsettings'")),
  );
  const settings = Object.fromEntries(
    [...settingsBlock.matchAll(/^\s+(\w+): (.+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
  const PLATFORM = [
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
    'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT',
  ];

  it("sets only settings symfeed reads, and the platform's own", () => {
    const names = Object.keys(settings);
    expect(names.filter((n) => !SETTING_NAMES.includes(n) && !PLATFORM.includes(n))).toEqual([]);
    expect(names).not.toContain('AzureWebJobsStorage'); // the connection-string form
    expect(settings.AzureWebJobsStorage__credential).toBe("'managedidentity'");
    expect(settings.SYMFEED_ADMIN_TOKEN).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=/);
    expect(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toMatch(
      /Authorization=AAD;ClientId=/,
    );
  });

  it('are settings symfeed starts with on Azure', () => {
    const sample: Record<string, string> = {
      AzureWebJobsStorage__blobServiceUri: 'https://stsymfeed.blob.core.windows.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://stsymfeed.queue.core.windows.net/',
      AzureWebJobsStorage__tableServiceUri: 'https://stsymfeed.table.core.windows.net/',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      SYMFEED_PUBLIC_URL: 'https://func-symfeed.azurewebsites.net',
      SYMFEED_ADMIN_TOKEN: 'x'.repeat(64),
      SYMFEED_MAX_PUSH_BYTES: '536870912',
    };
    const env = Object.fromEntries(
      Object.keys(settings)
        .filter((name) => !PLATFORM.includes(name))
        .map((name) => [name, sample[name]]),
    );
    expect(Object.values(env)).not.toContain(undefined);
    const parsed = parseSettings({ ...env, WEBSITE_SITE_NAME: 'func-symfeed' });
    expect(parsed.storage).toMatchObject({
      kind: 'identity',
      credential: { kind: 'managedIdentity', clientId: sample.AzureWebJobsStorage__clientId },
    });
    expect(parsed.SYMFEED_METRICS_ENDPOINT).toBe('off');
  });
});

describe('infra/modules/workbook.json', () => {
  interface Item {
    readonly type: number;
    readonly content: { readonly query?: string; readonly items?: Item[] };
  }
  const workbook = JSON.parse(read('infra/modules/workbook.json')) as { items: Item[] };
  const queries = workbook.items.flatMap((item) =>
    item.content.query ? [item.content.query] : [],
  );
  const parameterQueries = workbook.items
    .filter((item) => item.type === 9)
    .flatMap((item) => (item.content as { parameters?: { query?: string }[] }).parameters ?? [])
    .flatMap((p) => (p.query ? [p.query] : []));
  const emitted: readonly string[] = Object.values(METRIC_NAMES);
  const ATTRIBUTES = ['feed', 'route', 'outcome', 'cache'];

  /** What a customMetrics query names that the code does not emit. */
  function unknownNames(query: string): string[] {
    if (!query.includes('customMetrics')) return [];
    const metrics = [...query.matchAll(/"(symfeed\.[\w.]+)"/g)].map((m) => m[1] ?? '');
    const attributes = [...query.matchAll(/customDimensions\.(\w+)/g)].map((m) => m[1] ?? '');
    return [
      ...metrics.filter((name) => !emitted.includes(name)),
      ...attributes.filter((name) => !ATTRIBUTES.includes(name)),
    ];
  }

  it('reads as a workbook', () => {
    expect(workbook).toMatchObject({ version: 'Notebook/1.0' });
    expect(queries.length).toBeGreaterThan(10);
  });

  it('queries only metrics and attributes the code emits', () => {
    expect([...queries, ...parameterQueries].flatMap(unknownNames)).toEqual([]);
  });

  it('fails a query naming a metric or attribute the code does not emit', () => {
    expect(unknownNames('customMetrics | where name == "symfeed.symbol.hits"')).toEqual([
      'symfeed.symbol.hits',
    ]);
    expect(
      unknownNames(
        'customMetrics | where name == "symfeed.deletes" | extend s = customDimensions.state',
      ),
    ).toEqual(['state']);
  });

  it('shows, per feed, what the issue lists', () => {
    const shown = new Set(
      queries.flatMap((q) => [...q.matchAll(/"(symfeed\.[\w.]+)"/g)].map((m) => m[1])),
    );
    for (const name of [
      METRIC_NAMES.symbolRequests,
      METRIC_NAMES.symbolTtfb,
      METRIC_NAMES.symbolBytes,
      METRIC_NAMES.indexRuns,
      METRIC_NAMES.indexDuration,
      METRIC_NAMES.deletes,
    ]) {
      expect(shown).toContain(name);
    }
    for (const query of queries.filter((q) => q.includes('customMetrics'))) {
      expect(query).toMatch(/or feed in \(\{Feed\}\)/);
    }
    const text = read('infra/modules/workbook.json');
    expect(text).toMatch(/QueueMessageCount/);
    expect(text).toMatch(/-poison/);
  });
});

describe('docs/deploy.md', () => {
  const doc = read('docs/deploy.md');
  const quoted = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');
  const sources = ['shared', 'functions']
    .flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => read(join(dir, file))),
    )
    .join('\n');

  it('names only settings symfeed reads', () => {
    const settings = quoted.flatMap((q) => [
      ...q.matchAll(/\b(SYMFEED_\w+|AzureWebJobsStorage\w*)/g),
    ]);
    expect(settings.length).toBeGreaterThan(3);
    expect(settings.map((m) => m[1] ?? '').filter((name) => !SETTING_NAMES.includes(name))).toEqual(
      [],
    );
  });

  it('names only metrics, storage names and log events that exist', () => {
    const storageNames: string[] = [
      ...Object.values(CONTAINERS),
      ...Object.values(TABLES),
      ...Object.values(QUEUES).flatMap((q) => [q, `${q}-poison`]),
    ];
    const metrics = quoted.filter((q) => /^symfeed\.[\w.]+$/.test(q));
    expect(metrics.filter((name) => !emitted(name) && !sources.includes(`'${name}'`))).toEqual([]);
    const poison = quoted.filter((q) => /-poison$/.test(q));
    expect(poison.filter((name) => !storageNames.includes(name))).toEqual([]);
    function emitted(name: string) {
      return (Object.values(METRIC_NAMES) as string[]).includes(name);
    }
  });

  it('names the outputs and parameters the template has', () => {
    const outputs = quoted.filter(
      (q) => /^(AZURE_[A-Z_]+|[A-Z_]+_URL)$/.test(q) && !SETTING_NAMES.includes(q),
    );
    expect(outputs.length).toBeGreaterThan(3);
    for (const q of outputs) {
      expect(main).toMatch(new RegExp(`^output ${q} `, 'm'));
    }
  });
});
