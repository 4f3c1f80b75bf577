"""Airflow's base classes, under every import path DAG code and provider code use for them.

The catalog builder stops its walk up a class's bases at these (their parameters are not class
facts); the resolver and the rules recognise a custom class in the DAG folder that subclasses
one of them directly. Re-export paths are listed too, so that a universe missing the defining
module (a provider read without the task SDK) still recognises them.
"""

from __future__ import annotations

OPERATOR_ROOTS = frozenset(
    {
        "airflow.models.BaseOperator",
        "airflow.models.baseoperator.BaseOperator",
        "airflow.operators.BaseOperator",
        "airflow.sdk.BaseOperator",
        "airflow.sdk.bases.operator.BaseOperator",
    }
)
SENSOR_ROOTS = frozenset(
    {
        "airflow.sensors.base.BaseSensorOperator",
        "airflow.sensors.base_sensor_operator.BaseSensorOperator",
        "airflow.sdk.BaseSensorOperator",
        "airflow.sdk.bases.sensor.BaseSensorOperator",
    }
)
ROOTS = OPERATOR_ROOTS | SENSOR_ROOTS
# Airflow's trigger base classes (``airflow/triggers/base.py``, the same path on 2.x and 3.x).
TRIGGER_ROOTS = frozenset(
    {"airflow.triggers.base.BaseTrigger", "airflow.triggers.base.BaseEventTrigger"}
)
