"""What users read: text tables, charts and the report (HTML, Excel), built from result files.
"""
