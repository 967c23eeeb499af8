// SYMFEED_ADMIN_TOKEN lives in Key Vault; the app setting is a Key Vault reference the platform
// resolves with the app's identity, so the token is in no app setting, template output or log.
param name string
param location string
param tags object
@secure()
param adminToken string
param appPrincipalId string
@description('May read the token (az keyvault secret show). Empty: nobody but the app.')
param operatorPrincipalId string
param operatorPrincipalType string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource token 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'symfeed-admin-token'
  properties: { value: adminToken }
}

resource appReads 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(token.id, appPrincipalId, keyVaultSecretsUser)
  scope: token
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorReads 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(token.id, operatorPrincipalId, keyVaultSecretsUser)
  scope: token
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = vault.name
// The versionless URI: the reference follows the secret when it is set anew.
output adminTokenSecretUri string = '${vault.properties.vaultUri}secrets/${token.name}'
