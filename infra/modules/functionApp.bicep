// The Function App on the Flex Consumption plan, running dist/functions/index.js as the
// user-assigned identity. Its settings are the identity-based forms shared/config reads; the
// deployment package sits in an account of its own, also without shared keys.
param name string
param location string
param tags object
param deploymentAccountName string
param identityId string
param identityClientId string
param identityPrincipalId string
param storageAccountName string
param applicationInsightsName string
param adminTokenSecretUri string
param publicUrl string
param nodeVersion string
param maximumInstanceCount int
param instanceMemoryMB int
param maxPushBytes int

var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var packageContainer = 'app-package'

resource data 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource deployment 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: deploymentAccountName
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
  }
}

resource deploymentBlobs 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: deployment
  name: 'default'
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: deploymentBlobs
  name: packageContainer
  properties: { publicAccess: 'None' }
}

resource readPackage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deployment.id, identityPrincipalId, blobDataOwner)
  scope: deployment
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwner)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${deployment.properties.primaryEndpoints.blob}${packageContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
  dependsOn: [packages, readPackage]
}

var baseUrl = empty(publicUrl) ? 'https://${site.properties.defaultHostName}' : publicUrl

// Only settings shared/config reads (SYMFEED_*, AzureWebJobsStorage__*) and the platform's own.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__blobServiceUri: data.properties.primaryEndpoints.blob
    AzureWebJobsStorage__queueServiceUri: data.properties.primaryEndpoints.queue
    AzureWebJobsStorage__tableServiceUri: data.properties.primaryEndpoints.table
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
    SYMFEED_PUBLIC_URL: baseUrl
    SYMFEED_ADMIN_TOKEN: '@Microsoft.KeyVault(SecretUri=${adminTokenSecretUri})'
    SYMFEED_MAX_PUSH_BYTES: string(maxPushBytes)
    // The host refuses larger request bodies before symfeed sees them.
    FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: string(maxPushBytes)
  }
}

output name string = site.name
output publicUrl string = baseUrl
