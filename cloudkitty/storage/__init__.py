"""Step 4 of the flow: where rated frames are kept and read back.

``base`` holds the v2 driver interface and loader, ``sqlalchemy`` the SQL
driver, ``state`` the per-scope processing state and reprocessing schedules.
"""
