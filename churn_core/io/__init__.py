"""Stage 1, *read*: customer files (CSV, gzip, Parquet, XLSX; a path or uploaded bytes) to
DataFrames of text cells, and tables back to safe files.

Owns: encodings, delimiters, title lines, number styles of a file, the source row of every
record, and the spreadsheet-formula screen of every file we write.
May import: ``churn_core.config``, ``churn_core.errors`` and libraries. Nothing else of ours.
"""
