"""deploy/k8s: the Helm values of Dagster's chart and the Celery workers' Deployment, checked against
dagster-k8s's own schema (no cluster runs here).

The chart renders the instance's run launcher from `runLauncher.config.k8sRunLauncher` (its template
`helpers/instance/_run-launcher.tpl`: camelCase keys to the launcher's snake_case config, the env
references it adds, the chart's service account); `_rendered_run_launcher` does the same for the keys these
values use, and dagster-k8s's K8sRunLauncher config type must accept the result. The Kubernetes objects
(volumes, mounts, resources, the workers' Deployment) must parse as the Kubernetes client's models, through
dagster-k8s's strict reader, which refuses an unknown field."""

from pathlib import Path

import kubernetes.client as k8s
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher
from dagster_k8s.job import USER_DEFINED_K8S_JOB_CONFIG_SCHEMA
from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
VALUES = yaml.safe_load((K8S / "values.yaml").read_text())
WORKERS = yaml.safe_load((K8S / "workers.yaml").read_text())


def _model(kind, manifest: dict):
    return k8s_model_from_dict(kind, k8s_snake_case_dict(kind, manifest))


def _rendered_run_launcher(values: dict) -> dict:
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_config = launcher.get("runK8sConfig", {})
    rendered = {
        "load_incluster_config": launcher["loadInclusterConfig"],
        "job_namespace": launcher.get("jobNamespace", "domotic"),
        "image_pull_policy": launcher["imagePullPolicy"],
        "service_account_name": "domotic-dagster",
        "dagster_home": {"env": "DAGSTER_HOME"},
        "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
        "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
        "env_config_maps": [
            {"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"},
            *(m["name"] for m in launcher.get("envConfigMaps", [])),
        ],
        "env_secrets": [s["name"] for s in launcher.get("envSecrets", [])],
        "volume_mounts": launcher.get("volumeMounts", []),
        "volumes": launcher.get("volumes", []),
    }
    if run_config:
        rendered["run_k8s_config"] = {
            "container_config": run_config.get("containerConfig", {}),
            "pod_spec_config": run_config.get("podSpecConfig", {}),
        }
    return rendered


def test_the_run_launcher_the_chart_renders_is_valid_for_dagster_k8s():
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    rendered = _rendered_run_launcher(VALUES)
    result = validate_config(K8sRunLauncher.config_type(), rendered)
    assert result.success, [e.message for e in result.errors]
    checked = validate_config(USER_DEFINED_K8S_JOB_CONFIG_SCHEMA, rendered["run_k8s_config"])
    assert checked.success, [e.message for e in checked.errors]
    _model(k8s.V1Container, {"name": "run", **rendered["run_k8s_config"]["container_config"]})
    for volume in rendered["volumes"]:
        _model(k8s.V1Volume, volume)
    for mount in rendered["volume_mounts"]:
        _model(k8s.V1VolumeMount, mount)


def test_an_unknown_field_is_refused_so_the_checks_above_can_fail():
    broken = yaml.safe_load((K8S / "values.yaml").read_text())
    broken["runLauncher"]["config"]["k8sRunLauncher"]["volumeMounts"][0]["mountpath"] = "/typo"
    with pytest.raises(Exception, match="Unexpected keys"):
        _model(k8s.V1VolumeMount, _rendered_run_launcher(broken)["volume_mounts"][0])
    rendered = _rendered_run_launcher(broken)
    rendered["image_pull_policy"] = 3
    assert not validate_config(K8sRunLauncher.config_type(), rendered).success


def test_the_run_queue_matches_the_instance_of_deploy_dagster_yaml():
    queued = VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    limits = [
        {"key": limit["key"], "value": limit["value"], "limit": limit["limit"]}
        for limit in queued["tagConcurrencyLimits"]
    ]
    config = {
        "max_concurrent_runs": queued["maxConcurrentRuns"],
        "dequeue_interval_seconds": queued["dequeueIntervalSeconds"],
        "tag_concurrency_limits": limits,
    }
    assert validate_config(QueuedRunCoordinator.config_type(), config).success
    instance = yaml.safe_load((K8S.parent / "dagster.yaml").read_text())["run_queue"]
    assert config == instance


def test_the_user_code_and_the_workers_share_settings_secrets_and_volumes():
    """Every pod that runs a step sees the same settings, secrets and files (Bronze, the models)."""
    (code,) = VALUES["dagster-user-deployments"]["deployments"]
    assert code["dagsterApiGrpcArgs"] == ["-m", "domotic_assets.definitions"]
    deployment = _model(k8s.V1Deployment, WORKERS)
    pod = deployment.spec.template.spec
    (worker,) = pod.containers
    assert worker.command[:2] == ["domotic", "worker"]
    assert {e.config_map_ref.name for e in worker.env_from if e.config_map_ref} == {
        m["name"] for m in code["envConfigMaps"]
    }
    assert {e.secret_ref.name for e in worker.env_from if e.secret_ref} == {
        s["name"] for s in code["envSecrets"]
    }
    launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    for volumes in (code["volumes"], launcher["volumes"]):
        assert [_model(k8s.V1Volume, v) for v in volumes] == pod.volumes
    for mounts in (code["volumeMounts"], launcher["volumeMounts"]):
        assert [_model(k8s.V1VolumeMount, m) for m in mounts] == worker.volume_mounts


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value, path)
    else:
        yield path, node


def test_no_secret_is_written_in_the_deployment_files():
    """Passwords come from Secrets the cluster holds: no value under a password key, no URL with one."""
    for document in (VALUES, WORKERS):
        for path, value in _leaves(document):
            assert not ("password" in path[-1].lower() and isinstance(value, str)), path
            assert not (isinstance(value, str) and "://" in value and "@" in value), path
