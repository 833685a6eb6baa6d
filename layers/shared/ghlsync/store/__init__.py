"""Persistence: DynamoDB single table (tenants, connections, links, leases, audit) and Secrets Manager."""
