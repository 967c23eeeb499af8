// symfeed's data: the account AzureWebJobsStorage__* points at (the Functions host keeps its own
// state there too). Shared keys are off, so only Entra ID reaches it. Every container, table and
// queue symfeed uses is made here (shared/storage/clients.ts: CONTAINERS, TABLES, QUEUES): on Azure
// nothing creates them at run time, and /health names any that is missing.
param name string
param location string
param tags object
@description('The Function App\'s identity.')
param appPrincipalId string
@description('The operator, for the symfeed CLI (az login). Empty: none.')
param operatorPrincipalId string
param operatorPrincipalType string

var containers = ['packages', 'status', 'catalog', 'listings', 'misses']
var tables = ['feeds', 'tokens', 'packages', 'symbolkeys', 'symbolnames']
var queues = ['deletes', 'package-events']
// Event Grid writes here the blob events it could not deliver to package-events.
var deadLetterContainer = 'package-events-deadletter'

var roles = {
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}
var principals = concat(
  [{ id: appPrincipalId, type: 'ServicePrincipal' }],
  empty(operatorPrincipalId) ? [] : [{ id: operatorPrincipalId, type: operatorPrincipalType }]
)
var assignments = flatten(map(principals, p => map(items(roles), r => { principal: p, role: r.value })))

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource containerResources 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = [
  for container in concat(containers, [deadLetterContainer]): {
    parent: blobService
    name: container
    properties: { publicAccess: 'None' }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource tableResources 'Microsoft.Storage/storageAccounts/tableServices/tables@2024-01-01' = [
  for table in tables: {
    parent: tableService
    name: table
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: account
  name: 'default'
}

// Each queue and its poison queue, where the host puts a message after maxDequeueCount attempts
// (host.json) and symfeed puts one no attempt can mend.
resource queueResources 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = [
  for queue in flatten(map(queues, q => [q, '${q}-poison'])): {
    parent: queueService
    name: queue
  }
]

resource dataRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(account.id, a.principal.id, a.role)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.role)
      principalId: a.principal.id
      principalType: a.principal.type
    }
  }
]

output name string = account.name
output id string = account.id
output packagesContainer string = containers[0]
output packageEventsQueue string = queues[1]
output deadLetterContainer string = deadLetterContainer
output queueServiceId string = queueService.id
