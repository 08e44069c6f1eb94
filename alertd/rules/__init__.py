"""The rule files: dataset schemas, the expression language, the loader."""
