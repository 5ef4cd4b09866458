"""Document intake: validation, storage and section extraction for .docx, .pdf, .txt and .md."""
