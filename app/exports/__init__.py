"""Exports: the original .docx with native Word comments on the quoted text, JSON and CSV records."""
