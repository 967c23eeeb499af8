// symfeed on Azure: `azd up`, or `az deployment group create -g <group> -f infra/main.bicep`.
// Everything goes into the deployment's resource group; every module below is small and does one
// thing. No account key, SAS or connection string with a secret appears anywhere: the app, Event
// Grid and the operator reach storage, Key Vault and Application Insights with Entra ID.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Names this deployment (azd environment name): resource names are derived from it.')
param environmentName string

@description('Region of every resource; it must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Object id of the person or principal deploying: gets the data roles the symfeed CLI needs and may read the admin token. Empty: none.')
param principalId string = ''

@description('Type of principalId.')
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

@secure()
@description('SYMFEED_ADMIN_TOKEN, at least 32 characters. Empty: one is generated (anew on each deployment that passes none).')
param adminToken string = ''

@description('SYMFEED_PUBLIC_URL: where clients reach symfeed, e.g. a custom domain. Empty: the app\'s own https://<host>.')
param publicUrl string = ''

@description('Node.js major version of the Functions runtime: 20, the version symfeed is built and tested on (its upstream support ended 2026-04-30), or 22.')
@allowed(['20', '22'])
param nodeVersion string = '20'

@description('Flex Consumption: most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption: memory of each instance (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('SYMFEED_MAX_PUSH_BYTES: largest NuGet push accepted; the host\'s request body limit is raised to match.')
param maxPushBytes int = 536870912

@description('Address the two example alerts mail. Empty: they fire in the portal only.')
param alertEmail string = ''

// Freshly made only when adminToken is empty; a parameter default is the one place newGuid() may run.
@secure()
param generatedTokenSeed string = '${newGuid()}${newGuid()}'

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }
var appName = 'func-symfeed-${token}'

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: { name: 'id-symfeed-${token}', location: location, tags: tags }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'stsymfeed${take(token, 15)}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module events 'modules/events.bicep' = {
  name: 'events'
  params: {
    name: 'evgt-symfeed-${token}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    packagesContainer: storage.outputs.packagesContainer
    packageEventsQueue: storage.outputs.packageEventsQueue
    deadLetterContainer: storage.outputs.deadLetterContainer
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    token: token
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module secrets 'modules/secrets.bicep' = {
  name: 'secrets'
  params: {
    name: 'kv-symfeed-${take(token, 12)}'
    location: location
    tags: tags
    adminToken: empty(adminToken) ? replace(generatedTokenSeed, '-', '') : adminToken
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module app 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: appName
    location: location
    tags: union(tags, { 'azd-service-name': 'symfeed' })
    deploymentAccountName: 'stdeploy${take(token, 16)}'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    adminTokenSecretUri: secrets.outputs.adminTokenSecretUri
    publicUrl: publicUrl
    nodeVersion: nodeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    maxPushBytes: maxPushBytes
  }
}

module dashboards 'modules/dashboards.bicep' = {
  name: 'dashboards'
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    storageAccountName: storage.outputs.name
    alertEmail: alertEmail
  }
}

var baseUrl = app.outputs.publicUrl

@description('Symbol server (SSQP) of the feed default: the URL debuggers take.')
output SYMBOL_SERVER_URL string = '${baseUrl}/F/default/symbols'
@description('NuGet source of the feed default (push, list, delete).')
output NUGET_SOURCE_URL string = '${baseUrl}/F/default/api/v3/index.json'
@description('The symfeed workbook in the Azure portal.')
output WORKBOOK_URL string = dashboards.outputs.workbookUrl
output AZURE_FUNCTION_NAME string = app.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = secrets.outputs.name
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
