"""Weekly churn-model training: wait for the feature shards, train on SageMaker, evaluate on k8s."""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import Asset, chain, dag, task

FEATURE_BUCKET = "acme-ml-features"
FEATURE_SHARDS = ["usage", "billing", "support_tickets", "nps"]
MAX_CONCURRENT_TRAINING_JOBS = 4

TRAINING_CONFIG = {
    "TrainingJobName": "churn-xgb-{{ ds_nodash }}",
    "AlgorithmSpecification": {
        "TrainingImage": "685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1.7-1",
        "TrainingInputMode": "File",
    },
    "RoleArn": "arn:aws:iam::123456789012:role/sagemaker-churn-training",
    "InputDataConfig": [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{FEATURE_BUCKET}/churn/{{{{ ds }}}}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
    ],
    "OutputDataConfig": {"S3OutputPath": "s3://acme-ml-models/churn/"},
    "ResourceConfig": {"InstanceCount": 2, "InstanceType": "ml.m5.4xlarge", "VolumeSizeInGB": 50},
    "StoppingCondition": {"MaxRuntimeInSeconds": 4 * 60 * 60},
    "HyperParameters": {"num_round": "400", "max_depth": "6", "eta": "0.1"},
}


@dag(
    dag_id="ml_churn_training",
    schedule=Asset(f"s3://{FEATURE_BUCKET}/churn/weekly/_SUCCESS"),
    start_date=pendulum.datetime(2024, 3, 1, tz="UTC"),
    catchup=False,
    default_args={"owner": "ml-platform", "retries": 1},
    tags=["ml", "training", "churn"],
)
def ml_churn_training():
    wait_for_feature_shards = S3KeySensor.partial(
        task_id="wait_for_feature_shards",
        bucket_name=FEATURE_BUCKET,
        aws_conn_id="aws_ml",
        mode="reschedule",
        poke_interval=600,
        timeout=4 * 60 * 60,
    ).expand(bucket_key=[f"churn/{{{{ ds }}}}/{shard}/_SUCCESS" for shard in FEATURE_SHARDS])

    @task.sensor(poke_interval=300, timeout=3 * 60 * 60, mode="reschedule")
    def training_capacity_available() -> bool:
        client = SageMakerHook(aws_conn_id="aws_ml").get_conn()
        running = client.list_training_jobs(StatusEquals="InProgress", MaxResults=100)
        return len(running["TrainingJobSummaries"]) < MAX_CONCURRENT_TRAINING_JOBS

    train_churn_model = SageMakerTrainingOperator(
        task_id="train_churn_model",
        config=TRAINING_CONFIG,
        aws_conn_id="aws_ml",
        check_interval=60,
        print_log=True,
    )

    evaluate_churn_model = KubernetesPodOperator(
        task_id="evaluate_churn_model",
        name="evaluate-churn-model",
        namespace="ml-jobs",
        image="registry.acme.example/ml/churn-eval:2.4.1",
        cmds=["python", "-m", "churn.evaluate"],
        arguments=["--training-job", "churn-xgb-{{ ds_nodash }}", "--min-auc", "0.81"],
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
    )

    @task
    def register_model(ds: str | None = None) -> str:
        model_uri = f"s3://acme-ml-models/churn/churn-xgb-{ds}/output/model.tar.gz"
        print(f"Registering {model_uri} as churn:candidate")
        return model_uri

    chain(
        wait_for_feature_shards,
        training_capacity_available(),
        train_churn_model,
        evaluate_churn_model,
        register_model(),
    )


ml_churn_training()
