"""Storage: the engine wrapper, the schema and its migrations."""
