"""Acme's Airflow extensions: triggers and deferrable operators for the partner export API."""
