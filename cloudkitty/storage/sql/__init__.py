"""Building blocks of the SQL storage driver: row codec, dialect helpers,
daily rollups and summary queries."""
