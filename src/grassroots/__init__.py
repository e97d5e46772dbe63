"""Grassroots: village-to-region rollups of grassroots Party organisation returns.

The package knows nothing of Airflow: the DAGs in ``dags/`` call its functions.
"""

__version__ = "0.1.0"
