"""The GraphQL documents the connector sends (Admin API, 2026-04 rules: `changeFromQuantity` on every inventory
quantity, `@idempotent(key:)` on inventory and refund mutations)."""

from __future__ import annotations

MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
ADDRESS = "name firstName lastName company address1 address2 city provinceCode zip countryCodeV2 phone"
TAXES = f"taxLines {{ title rate priceSet {{ {MONEY} }} }}"
ALLOCATIONS = f"discountAllocations {{ allocatedAmountSet {{ {MONEY} }} discountApplication {{ index }} }}"
APPLICATION = (
    "index __typename ... on DiscountCodeApplication { code } ... on AutomaticDiscountApplication { title } "
    "... on ManualDiscountApplication { title } ... on ScriptDiscountApplication { title }"
)
DUTIES = f"duties {{ id harmonizedSystemCode price {{ {MONEY} }} {TAXES} }}"
LINE = (
    "id sku title variantTitle quantity isGiftCard requiresShipping variant { id } product { id } "
    f"originalUnitPriceSet {{ {MONEY} }} originalTotalSet {{ {MONEY} }} {TAXES} {ALLOCATIONS} {DUTIES}"
)
SHIPPING = f"id title code originalPriceSet {{ {MONEY} }} {TAXES} {ALLOCATIONS}"
ORDER_SCALARS = (
    "id name createdAt updatedAt cancelledAt displayFinancialStatus displayFulfillmentStatus currencyCode "
    "presentmentCurrencyCode email customer { id email firstName lastName phone } "
    f"shippingAddress {{ {ADDRESS} }} billingAddress {{ {ADDRESS} }} "
    f"subtotalPriceSet {{ {MONEY} }} totalShippingPriceSet {{ {MONEY} }} totalTaxSet {{ {MONEY} }} "
    f"totalDiscountsSet {{ {MONEY} }} totalPriceSet {{ {MONEY} }} {TAXES} "
    f"taxesIncluded dutiesIncluded totalOutstandingSet {{ {MONEY} }} totalTipReceivedSet {{ {MONEY} }} "
    f"originalTotalDutiesSet {{ {MONEY} }} originalTotalAdditionalFeesSet {{ {MONEY} }} "
    f"additionalFees {{ id name price {{ {MONEY} }} {TAXES} }} "
    "note tags phone paymentGatewayNames"
)
REFUNDS = (
    f"refunds(first: 50) {{ id createdAt note totalRefundedSet {{ {MONEY} }} "
    "refundLineItems(first: 250) { nodes { quantity lineItem { id } } } }"
)
# Shopify's own fulfilments (only SUCCESS ones count, see read_extras), with the lines and units each shipped.
FULFILLMENTS = (
    "fulfillments(first: 50) { id status createdAt trackingInfo(first: 10) { company number url } "
    "fulfillmentLineItems(first: 250) { nodes { quantity lineItem { id } } } }"
)
ORDER_FIELDS = (
    f"{ORDER_SCALARS} discountApplications(first: 50) {{ nodes {{ {APPLICATION} }} }} "
    f"lineItems(first: 250) {{ nodes {{ {LINE} }} }} shippingLines(first: 20) {{ nodes {{ {SHIPPING} }} }} "
    f"{REFUNDS} {FULFILLMENTS}"
)

ORDERS = f"""query Orders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {ORDER_FIELDS} }}
  }}
}}"""

ORDER = f"""query Order($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"""

ORDERS_COUNT = """query OrdersCount($query: String) { ordersCount(query: $query) { count precision } }"""

# Bulk: nested connections become their own JSONL lines with __parentId; __typename routes them back.
# Left out because a connection inside a list (refunds, fulfillments) is not allowed in a bulk query:
# - refund lines (the next update of an order brings them);
# - fulfillments altogether: without their fulfillmentLineItems a partial fulfilment would read as "every unit
#   shipped". A backfilled order's Shopify fulfilments arrive with its next update (poll or webhook).
BULK_ORDERS = (
    "{ orders { edges { node { "
    f"{ORDER_SCALARS} refunds {{ id createdAt note totalRefundedSet {{ {MONEY} }} }} "
    f"discountApplications {{ edges {{ node {{ {APPLICATION} }} }} }} "
    f"lineItems {{ edges {{ node {{ __typename {LINE} }} }} }} "
    f"shippingLines {{ edges {{ node {{ __typename {SHIPPING} }} }} }} "
    "} } } }"
)

BULK_RUN = """mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""

BULK_STATUS = """query BulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}"""

VARIANTS_BY_SKU = """query VariantsBySku($first: Int!, $query: String!) {
  productVariants(first: $first, query: $query) {
    nodes { id sku inventoryItem { id } }
  }
}"""

INVENTORY_LEVELS = """query InventoryLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
    }
  }
}"""

SET_QUANTITIES = """mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason referenceDocumentUri }
    userErrors { field message code }
  }
}"""

FULFILLMENT_ORDERS = """query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 50) { id status trackingInfo { company number url } }
    fulfillmentOrders(first: 50) {
      nodes { id status lineItems(first: 250) { nodes { id remainingQuantity lineItem { id sku } } } }
    }
  }
}"""

FULFILLMENT_CREATE = """mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}"""

REFUND_CREATE = """mutation RefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}"""

# The look before a cancellation: is it cancelled already (a retry, or cancelled in Shopify's admin)?
ORDER_CANCEL_STATE = """query OrderCancelState($id: ID!) {
  order(id: $id) { id name cancelledAt cancelReason displayFinancialStatus displayFulfillmentStatus }
}"""

# orderCancel takes no idempotency key (none is documented for it): a retry is made safe by ORDER_CANCEL_STATE.
ORDER_CANCEL = """mutation OrderCancel(
  $orderId: ID!
  $reason: OrderCancelReason!
  $restock: Boolean!
  $notifyCustomer: Boolean
  $staffNote: String
  $refundMethod: OrderCancelRefundMethodInput
) {
  orderCancel(
    orderId: $orderId
    reason: $reason
    restock: $restock
    notifyCustomer: $notifyCustomer
    staffNote: $staffNote
    refundMethod: $refundMethod
  ) {
    job { id done }
    jobResult { id done status errors { code field message } }
    orderCancelUserErrors { code field message }
  }
}"""

# Webhook subscriptions (2026-10: `uri` replaces the deprecated `callbackUrl`, as argument, input field and field).
SUBSCRIPTION = "id topic uri format"

WEBHOOK_SUBSCRIPTIONS = f"""query WebhookSubscriptions($first: Int!, $after: String) {{
  webhookSubscriptions(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {SUBSCRIPTION} }}
  }}
}}"""

# No idempotency key is documented for webhookSubscriptionCreate: a repeat is made safe by listing first.
WEBHOOK_SUBSCRIPTION_CREATE = f"""mutation WebhookSubscriptionCreate(
  $topic: WebhookSubscriptionTopic!
  $webhookSubscription: WebhookSubscriptionInput!
) {{
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {{
    webhookSubscription {{ {SUBSCRIPTION} }}
    userErrors {{ field message }}
  }}
}}"""

WEBHOOK_SUBSCRIPTION_DELETE = """mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}"""
