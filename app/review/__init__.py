"""Section review: the Hawkeye checklist, prompts, output validation, quote verification, the
offline rules reviewer and the analysis service."""
