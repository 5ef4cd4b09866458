"""The model layer: providers (Bedrock, offline rules), the shared-state model chain, call records."""
