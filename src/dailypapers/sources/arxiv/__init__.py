"""arXiv formats: identifiers, listing lines, bulk snapshot lines."""
