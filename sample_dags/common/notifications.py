"""Failure alerts posted to the data-platform Slack channel through an incoming webhook."""

from __future__ import annotations

from typing import Any

from airflow.providers.http.hooks.http import HttpHook

SLACK_WEBHOOK_CONN_ID = "slack_data_alerts"


def post_failure_to_slack(context: dict[str, Any]) -> None:
    """on_failure_callback: one Slack line per failed task try, with a link to its log."""
    ti = context["ti"]
    text = (
        f":red_circle: `{ti.task_id}` failed (try {ti.try_number}) "
        f"in run `{context['run_id']}` - <{ti.log_url}|log>"
    )
    HttpHook(method="POST", http_conn_id=SLACK_WEBHOOK_CONN_ID).run(
        endpoint="",
        json={"text": text},
        extra_options={"timeout": 10},
    )
