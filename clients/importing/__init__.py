"""Reading import files: formats, detection, header synonyms and row parsing (see docs/import.md)."""
