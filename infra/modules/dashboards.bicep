// What the operator watches: the symfeed workbook (modules/workbook.json) on Application Insights,
// and two alerts as examples to copy: answers failing with 5xx, and messages moved to a poison
// queue. Both are log search alerts on the app's Application Insights.
param location string
param tags object
param applicationInsightsName string
param storageAccountName string
@description('Mailed when an alert fires. Empty: alerts show in the portal only.')
param alertEmail string

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' existing = {
  name: '${storageAccountName}/default'
}

var workbookJson = replace(
  replace(loadTextContent('workbook.json'), '__QUEUE_SERVICE_ID__', queueService.id),
  '__APPLICATION_INSIGHTS_ID__',
  insights.id
)

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, insights.id, 'symfeed-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'symfeed'
    category: 'workbook'
    sourceId: insights.id
    serializedData: workbookJson
  }
}

resource mail 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-symfeed'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'symfeed'
    enabled: true
    emailReceivers: [{ name: 'operator', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var actions = empty(alertEmail) ? {} : { actionGroups: [mail.id] }

// More than 5 % of at least 20 requests in 15 minutes answered 5xx.
resource failingAnswers 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'symfeed-5xx-rate'
  location: location
  tags: tags
  properties: {
    displayName: 'symfeed: 5xx rate above 5 %'
    description: 'More than 5 % of requests answered with a 5xx in 15 minutes. The workbook\'s "Failed answers" lists their causes.'
    severity: 1
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: 'requests | summarize total = count(), failed = countif(toint(resultCode) >= 500) | where total >= 20 and 100.0 * failed / total > 5'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: actions
  }
}

// Any message moved to deletes-poison or package-events-poison: by the host after maxDequeueCount
// failed attempts, or by symfeed for a message no attempt can mend.
resource poisonMessages 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'symfeed-poison-messages'
  location: location
  tags: tags
  properties: {
    displayName: 'symfeed: messages in a poison queue'
    description: 'A queue message was moved to deletes-poison or package-events-poison. Read it there (Storage browser), mend the cause, and upload or delete again.'
    severity: 2
    enabled: true
    scopes: [insights.id]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "to the poison queue" or (message has "MaxDequeueCount" and message has "-poison")'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: actions
  }
}

output workbookUrl string = '${environment().portal}/#@${tenant().tenantId}/resource${workbook.id}/workbook'
