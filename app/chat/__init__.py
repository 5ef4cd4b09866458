"""Risk-advice chat about a document: context within a token budget, streamed replies, history."""
