"""The stewards' pages (review of issues, refused files and intake), a FastAPI app the
Airflow plugin mounts: ``app.create_app``."""
